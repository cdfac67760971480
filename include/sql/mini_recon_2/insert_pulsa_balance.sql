-- Mini Recon 2: pulsa balance holders and exact balance totals, transformation vs stage.
-- Passed only when both the distinct holder counts and the totals are equal.
INSERT INTO mini_recon_2.tbl_pulsa_balance
    (run_id, env, cohort_id, prefix_id, prefix, batch_id, msisdn_start, msisdn_end, service, subset,
     transform_count, stage_count, difference, transform_sum, stage_sum, subset_status)
SELECT %(run_id)s, %(env)s, %(cohort_id)s, %(prefix_id)s, %(prefix)s, %(batch_id)s, %(msisdn_start)s,
       %(msisdn_end)s, %(service)s, %(subset)s, v.t, v.s, v.t - v.s, v.t_sum, v.s_sum,
       CASE WHEN v.t = v.s AND v.t_sum = v.s_sum THEN 'Passed' ELSE 'Failed' END
  FROM (SELECT %(transform_count)s::bigint AS t, %(stage_count)s::bigint AS s,
               %(transform_sum)s::numeric AS t_sum, %(stage_sum)s::numeric AS s_sum) v
RETURNING subset_status;
