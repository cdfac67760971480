-- Mini Recon 1: non-migratable subscribers of one reason in a batch.
-- src_count = non_migratable_count = landed subscribers excluded for this reason;
-- trgt_count = transformation rows that are non-migratable with this reason (they must not be
-- there); difference = trgt_count; Passed only when no excluded subscriber reached it.
INSERT INTO mini_recon_1.tbl_non_migratable_count
    (run_id, env, cohort_id, prefix_id, prefix, batch_id, msisdn_start, msisdn_end, subset,
     source_system, non_migratable_reason, non_migratable_count, src_count, trgt_count,
     difference, status)
SELECT %(run_id)s, %(env)s, %(cohort_id)s, %(prefix_id)s, %(prefix)s, %(batch_id)s,
       %(msisdn_start)s, %(msisdn_end)s, %(subset)s, %(source_system)s,
       %(non_migratable_reason)s, v.src, v.src, v.trgt, v.trgt,
       CASE WHEN v.trgt = 0 THEN 'Passed' ELSE 'Failed' END
  FROM (SELECT %(src_count)s::bigint AS src, %(trgt_count)s::bigint AS trgt) v
RETURNING status;
