-- Mini Recon 1: migratable MSISDNs of a batch under one number prefix (the first digits, as
-- many as the cohort prefix has), landed vs transformation subscribers.
-- difference = src_count - trgt_count; Passed only when it is 0.
INSERT INTO mini_recon_1.tbl_msisdn_prefix_count
    (run_id, env, cohort_id, prefix_id, prefix, batch_id, msisdn_start, msisdn_end, subset,
     source_system, msisdn_prefix, src_count, trgt_count, difference, status)
SELECT %(run_id)s, %(env)s, %(cohort_id)s, %(prefix_id)s, %(prefix)s, %(batch_id)s,
       %(msisdn_start)s, %(msisdn_end)s, %(subset)s, %(source_system)s, %(msisdn_prefix)s,
       v.src, v.trgt, v.src - v.trgt,
       CASE WHEN v.src = v.trgt THEN 'Passed' ELSE 'Failed' END
  FROM (SELECT %(src_count)s::bigint AS src, %(trgt_count)s::bigint AS trgt) v
RETURNING status;
