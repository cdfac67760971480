-- Mini Recon 2 per-service rollup for one batch scope, from the same inputs as
-- subset_status.sql (which already deleted the scope's previous summary rows in this
-- transaction): a service is Passed only when none of its subsets failed.
-- Parameters: run_id, env, cohort_id, prefix_id, prefix, batch_id, msisdn_start, msisdn_end.
INSERT INTO mini_recon_2.tbl_recon_2_summary
    (run_id, env, cohort_id, prefix_id, prefix, batch_id, msisdn_start, msisdn_end, service,
     total_subsets, failed_subsets, status)
SELECT %(run_id)s, %(env)s, %(cohort_id)s, %(prefix_id)s, %(prefix)s, %(batch_id)s,
       %(msisdn_start)s, %(msisdn_end)s, c.service,
       count(*)::integer,
       (count(*) FILTER (WHERE c.transform_count <> c.stage_count))::integer,
       CASE WHEN bool_and(c.transform_count = c.stage_count) THEN 'Passed' ELSE 'Failed' END
  FROM pg_temp.mr2_subset_counts c
 GROUP BY c.service
RETURNING id, run_id, env, cohort_id, prefix_id, prefix, batch_id, msisdn_start, msisdn_end,
          service, total_subsets, failed_subsets, status;
