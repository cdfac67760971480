-- Mini Recon 3 data prep: one service table's rows for one batch, stage store vs target.
-- difference = stage_count - target_count (upstream minus downstream); Passed only when 0.
INSERT INTO mini_recon_3.tbl_data_prep
    (run_id, env, cohort_id, prefix_id, prefix, batch_id, msisdn_start, msisdn_end, service, table_name,
     stage_store, stage_count, target_count, difference, status)
SELECT %(run_id)s, %(env)s, %(cohort_id)s, %(prefix_id)s, %(prefix)s, %(batch_id)s, %(msisdn_start)s,
       %(msisdn_end)s, %(service)s, %(table_name)s, %(stage_store)s, v.s, v.t, v.s - v.t,
       CASE WHEN v.s = v.t THEN 'Passed' ELSE 'Failed' END
  FROM (SELECT %(stage_count)s::bigint AS s, %(target_count)s::bigint AS t) v
RETURNING status;
