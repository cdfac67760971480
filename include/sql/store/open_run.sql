-- Open (or reopen, on a task retry) a run in the central log as In Progress.
INSERT INTO "Migration".log_table
    (run_id, env, cohort_id, prefix_id, prefix, batch_id, msisdn_start, msisdn_end,
     process_name, entity_name, status, scope_key, start_time)
VALUES (%(run_id)s, %(env)s, %(cohort_id)s, %(prefix_id)s, %(prefix)s, %(batch_id)s,
        %(msisdn_start)s, %(msisdn_end)s, %(process_name)s, %(entity_name)s, 'In Progress',
        %(scope_key)s, now())
ON CONFLICT (run_id) DO UPDATE
   SET status = 'In Progress', error = NULL, end_time = NULL, start_time = now();
