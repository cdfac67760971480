-- Overall summary: one (service, subset) of one prefix counted at every layer, Source -> Target.
-- source_target_difference = source_count - target_count; Match only when it is 0 and the
-- measure's totals (when it has any) agreed, which the caller measured and passes as totals_equal.
INSERT INTO recon_report.tbl_recon_report_overall_summary
    (run_id, env, cohort_id, prefix_id, prefix, batch_id, msisdn_start, msisdn_end, service, subset,
     source_count, transform_count, stage_count, target_count, source_target_difference, status_match)
SELECT %(run_id)s, %(env)s, %(cohort_id)s, %(prefix_id)s, %(prefix)s, NULL, %(msisdn_start)s, %(msisdn_end)s,
       %(service)s, %(subset)s, v.src, %(transform_count)s, %(stage_count)s, v.trgt, v.src - v.trgt,
       CASE WHEN v.src = v.trgt AND %(totals_equal)s THEN 'Match' ELSE 'Mismatch' END
  FROM (SELECT %(source_count)s::bigint AS src, %(target_count)s::bigint AS trgt) v
RETURNING status_match;
