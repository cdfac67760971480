-- Mini Recon 1: pulsa balance total of a batch's migratable subscribers, exact numeric.
-- difference = src_sum - trgt_sum; Passed only when it is 0.
INSERT INTO mini_recon_1.tbl_pulsa_balance_sum
    (run_id, env, cohort_id, prefix_id, prefix, batch_id, msisdn_start, msisdn_end, subset,
     source_system, src_sum, trgt_sum, difference, status)
SELECT %(run_id)s, %(env)s, %(cohort_id)s, %(prefix_id)s, %(prefix)s, %(batch_id)s,
       %(msisdn_start)s, %(msisdn_end)s, %(subset)s, %(source_system)s,
       v.src, v.trgt, v.src - v.trgt,
       CASE WHEN v.src = v.trgt THEN 'Passed' ELSE 'Failed' END
  FROM (SELECT %(src_sum)s::numeric AS src, %(trgt_sum)s::numeric AS trgt) v
RETURNING status;
