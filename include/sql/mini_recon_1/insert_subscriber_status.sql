-- Mini Recon 1: one subscriber_status row of a batch.
-- difference = (src_count - non_migratable_count) - trgt_count; Passed only when it is 0
-- (the transformation is expected to hold exactly the migratable subscribers).
INSERT INTO mini_recon_1.tbl_migratable_subscriber_status
    (run_id, env, cohort_id, prefix_id, prefix, batch_id, msisdn_start, msisdn_end, subset,
     source_system, subscriber_status, src_count, trgt_count, non_migratable_count, difference, status)
SELECT %(run_id)s, %(env)s, %(cohort_id)s, %(prefix_id)s, %(prefix)s, %(batch_id)s,
       %(msisdn_start)s, %(msisdn_end)s, %(subset)s, %(source_system)s, %(subscriber_status)s,
       v.src, v.trgt, v.non_mig, v.src - v.non_mig - v.trgt,
       CASE WHEN v.src - v.non_mig = v.trgt THEN 'Passed' ELSE 'Failed' END
  FROM (SELECT %(src_count)s::bigint AS src, %(trgt_count)s::bigint AS trgt,
               %(non_migratable_count)s::bigint AS non_mig) v
RETURNING status;
