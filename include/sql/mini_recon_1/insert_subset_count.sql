-- Mini Recon 1: one counted subset of a batch (an add-on code, a payment channel, a promotion,
-- the app-login eligible users), source vs transformation, in a result table with the common
-- columns. {table} is one name from the Python side's fixed allow-list, validated and quoted.
-- difference = src_count - trgt_count; Passed only when it is 0.
INSERT INTO {table}
    (run_id, env, cohort_id, prefix_id, prefix, batch_id, msisdn_start, msisdn_end, subset,
     source_system, src_count, trgt_count, difference, status)
SELECT %(run_id)s, %(env)s, %(cohort_id)s, %(prefix_id)s, %(prefix)s, %(batch_id)s,
       %(msisdn_start)s, %(msisdn_end)s, %(subset)s, %(source_system)s,
       v.src, v.trgt, v.src - v.trgt,
       CASE WHEN v.src = v.trgt THEN 'Passed' ELSE 'Failed' END
  FROM (SELECT %(src_count)s::bigint AS src, %(trgt_count)s::bigint AS trgt) v
RETURNING status;
