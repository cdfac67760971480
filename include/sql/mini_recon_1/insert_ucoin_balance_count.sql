-- Mini Recon 1: UCoin holders (ucoin_balance > 0) of a batch's migratable subscribers and
-- their total. difference = src_count - trgt_count; Passed only when both the holder counts
-- and the totals agree.
INSERT INTO mini_recon_1.tbl_ucoin_balance_count
    (run_id, env, cohort_id, prefix_id, prefix, batch_id, msisdn_start, msisdn_end, subset,
     source_system, src_count, trgt_count, difference, src_balance, trgt_balance, status)
SELECT %(run_id)s, %(env)s, %(cohort_id)s, %(prefix_id)s, %(prefix)s, %(batch_id)s,
       %(msisdn_start)s, %(msisdn_end)s, %(subset)s, %(source_system)s,
       v.src, v.trgt, v.src - v.trgt, v.src_bal, v.trgt_bal,
       CASE WHEN v.src = v.trgt AND v.src_bal = v.trgt_bal THEN 'Passed' ELSE 'Failed' END
  FROM (SELECT %(src_count)s::bigint AS src, %(trgt_count)s::bigint AS trgt,
               %(src_balance)s::numeric AS src_bal, %(trgt_balance)s::numeric AS trgt_bal) v
RETURNING status;
