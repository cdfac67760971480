-- Mini Recon 2 subset status: replace one batch scope's rows in
-- mini_recon_2.tbl_transformed_msisdn with one row per (service, subset) from pg_temp.mr2_subset_counts.
-- A subset is Passed when the transformation and stage distinct counts are equal, else Failed;
-- difference = transform_count - stage_count (upstream minus downstream, as source minus target).
-- Parameters: run_id, env, cohort_id, prefix_id, prefix, batch_id, msisdn_start, msisdn_end.
-- The scope is matched NULL-safely on every field but run_id, so a rerun replaces its own rows
-- (and the scope's per-service summary, rewritten by service_summary.sql in the same
-- transaction) and never another batch's. The lock serialises concurrent writers of one scope.
SELECT pg_advisory_xact_lock(hashtextextended(
    concat_ws('|', 'mini_recon_2.subset_status', %(env)s::text, %(cohort_id)s::text,
              %(prefix_id)s::text, %(prefix)s::text, %(batch_id)s::text,
              %(msisdn_start)s::text, %(msisdn_end)s::text), 0));

DELETE FROM mini_recon_2.tbl_recon_2_summary
 WHERE env = %(env)s
   AND cohort_id = %(cohort_id)s
   AND prefix_id IS NOT DISTINCT FROM %(prefix_id)s::text
   AND prefix IS NOT DISTINCT FROM %(prefix)s::text
   AND batch_id IS NOT DISTINCT FROM %(batch_id)s::text
   AND msisdn_start IS NOT DISTINCT FROM %(msisdn_start)s::text
   AND msisdn_end IS NOT DISTINCT FROM %(msisdn_end)s::text;

DELETE FROM mini_recon_2.tbl_transformed_msisdn
 WHERE env = %(env)s
   AND cohort_id = %(cohort_id)s
   AND prefix_id IS NOT DISTINCT FROM %(prefix_id)s::text
   AND prefix IS NOT DISTINCT FROM %(prefix)s::text
   AND batch_id IS NOT DISTINCT FROM %(batch_id)s::text
   AND msisdn_start IS NOT DISTINCT FROM %(msisdn_start)s::text
   AND msisdn_end IS NOT DISTINCT FROM %(msisdn_end)s::text;

INSERT INTO mini_recon_2.tbl_transformed_msisdn
    (run_id, env, cohort_id, prefix_id, prefix, batch_id, msisdn_start, msisdn_end, service,
     subset, transform_count, stage_count, difference, subset_status)
SELECT %(run_id)s, %(env)s, %(cohort_id)s, %(prefix_id)s, %(prefix)s, %(batch_id)s,
       %(msisdn_start)s, %(msisdn_end)s, c.service, c.subset, c.transform_count, c.stage_count,
       c.transform_count - c.stage_count,
       CASE WHEN c.transform_count = c.stage_count THEN 'Passed' ELSE 'Failed' END
  FROM pg_temp.mr2_subset_counts c
RETURNING id, run_id, env, cohort_id, prefix_id, prefix, batch_id, msisdn_start, msisdn_end,
          service, subset, transform_count, stage_count, difference, subset_status;
