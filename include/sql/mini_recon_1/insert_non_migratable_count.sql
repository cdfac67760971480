-- Mini Recon 1: non-migratable subscribers of one reason in a batch.
-- src_count = non_migratable_count = landed subscribers that are not migratable (a NULL flag
-- counts as not migratable) with this reason; trgt_count = rows with this reason in the
-- transformation's exclusion record (non_migratable_subscribers). Every subscriber left behind
-- must be recorded: difference = src_count - trgt_count, Passed only when it is 0.
INSERT INTO mini_recon_1.tbl_non_migratable_count
    (run_id, env, cohort_id, prefix_id, prefix, batch_id, msisdn_start, msisdn_end, subset,
     source_system, non_migratable_reason, non_migratable_count, src_count, trgt_count,
     difference, status)
SELECT %(run_id)s, %(env)s, %(cohort_id)s, %(prefix_id)s, %(prefix)s, %(batch_id)s,
       %(msisdn_start)s, %(msisdn_end)s, %(subset)s, %(source_system)s,
       %(non_migratable_reason)s, v.src, v.src, v.trgt, v.src - v.trgt,
       CASE WHEN v.src = v.trgt THEN 'Passed' ELSE 'Failed' END
  FROM (SELECT %(src_count)s::bigint AS src, %(trgt_count)s::bigint AS trgt) v
RETURNING status;
