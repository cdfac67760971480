-- Current results of a scope: exactly it, or (with_children) every scope inside it.
SELECT scope_key, suite, check_name, kind, group_key, expected, actual, discrepancy, status,
       message, run_id, finished_at, scope, prefix, batch_id, stage, tolerance, details, source,
       target, started_at
  FROM recon.check_result
 WHERE CASE WHEN %(with_children)s THEN scope @> %(scope)s::jsonb
            ELSE scope_key = %(scope_key)s END
   AND (%(suite)s::text IS NULL OR suite = %(suite)s::text)
 ORDER BY scope_key, suite, check_name, group_key NULLS FIRST;
