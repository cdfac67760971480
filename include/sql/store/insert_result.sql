-- One check result for one scope.
INSERT INTO recon.check_result
    (run_id, scope_key, scope, env, cohort_id, prefix_id, prefix, batch_id, stage, suite,
     check_name, kind, group_key, source, target, expected, actual, discrepancy, tolerance,
     status, message, details, started_at, finished_at)
VALUES (%(run_id)s, %(scope_key)s, %(scope)s, %(env)s, %(cohort_id)s, %(prefix_id)s, %(prefix)s,
        %(batch_id)s, %(stage)s, %(suite)s, %(check_name)s, %(kind)s, %(group_key)s, %(source)s,
        %(target)s, %(expected)s, %(actual)s, %(discrepancy)s, %(tolerance)s, %(status)s,
        %(message)s, %(details)s, %(started_at)s, %(finished_at)s);
