-- Mini Recon 2: one (service, subset) distinct-count comparison into one of the seven count
-- tables ({table}: validated, quoted, from mr2_reports' allow-list).
-- difference = transform_count - stage_count (upstream minus downstream); Passed only when 0.
INSERT INTO {table}
    (run_id, env, cohort_id, prefix_id, prefix, batch_id, msisdn_start, msisdn_end, service, subset,
     transform_count, stage_count, difference, subset_status)
SELECT %(run_id)s, %(env)s, %(cohort_id)s, %(prefix_id)s, %(prefix)s, %(batch_id)s, %(msisdn_start)s,
       %(msisdn_end)s, %(service)s, %(subset)s, v.t, v.s, v.t - v.s,
       CASE WHEN v.t = v.s THEN 'Passed' ELSE 'Failed' END
  FROM (SELECT %(transform_count)s::bigint AS t, %(stage_count)s::bigint AS s) v
RETURNING subset_status;
