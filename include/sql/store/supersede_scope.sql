-- Move a scope's current results (optionally one suite's) to history before a rerun writes
-- its own; rows of other scopes and suites are untouched.
WITH moved AS (
    DELETE FROM recon.check_result
     WHERE scope_key = %(scope_key)s
       AND (%(suite)s::text IS NULL OR suite = %(suite)s::text)
    RETURNING *
)
INSERT INTO recon.check_result_history
    (id, run_id, scope_key, scope, env, cohort_id, prefix_id, prefix, batch_id, stage, suite,
     check_name, kind, group_key, source, target, expected, actual, discrepancy, tolerance,
     status, message, details, started_at, finished_at, recorded_at, superseded_by)
SELECT id, run_id, scope_key, scope, env, cohort_id, prefix_id, prefix, batch_id, stage, suite,
       check_name, kind, group_key, source, target, expected, actual, discrepancy, tolerance,
       status, message, details, started_at, finished_at, recorded_at, %(superseded_by)s
  FROM moved;
