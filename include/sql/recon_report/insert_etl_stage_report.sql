-- ETL stage report: one service table of one cohort counted at Transform, Stage and Target.
-- Differences are upstream minus downstream; Match only when both hops kept every row. A table
-- not deployed in this environment gets NULL counts and NULL status (layer_pair says why).
INSERT INTO recon_report.tbl_recon_etl_stage_report
    (run_id, env, cohort_id, prefix_id, prefix, batch_id, msisdn_start, msisdn_end, layer_pair, service,
     table_name, transform_count, stage_count, target_count, transform_stage_difference,
     stage_target_difference, status)
SELECT %(run_id)s, %(env)s, %(cohort_id)s, NULL, NULL, NULL, NULL, NULL, %(layer_pair)s, %(service)s,
       %(table_name)s, v.t, v.s, v.g, v.t - v.s, v.s - v.g,
       CASE WHEN v.t IS NULL THEN NULL WHEN v.t = v.s AND v.s = v.g THEN 'Match' ELSE 'Mismatch' END
  FROM (SELECT %(transform_count)s::bigint AS t, %(stage_count)s::bigint AS s, %(target_count)s::bigint AS g) v
RETURNING status;
