-- Mini Recon 1: migratable MSISDNs of one source system in a batch.
-- difference = source_system_count - target_transform_count; Passed only when it is 0.
INSERT INTO mini_recon_1.tbl_migratable_msisdn_count
    (run_id, env, cohort_id, prefix_id, prefix, batch_id, msisdn_start, msisdn_end, subset,
     source_system, source_system_count, target_transform_count, difference, status)
SELECT %(run_id)s, %(env)s, %(cohort_id)s, %(prefix_id)s, %(prefix)s, %(batch_id)s,
       %(msisdn_start)s, %(msisdn_end)s, %(subset)s, %(source_system)s,
       v.src, v.trgt, v.src - v.trgt,
       CASE WHEN v.src = v.trgt THEN 'Passed' ELSE 'Failed' END
  FROM (SELECT %(src_count)s::bigint AS src, %(trgt_count)s::bigint AS trgt) v
RETURNING status;
