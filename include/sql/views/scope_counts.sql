-- The reconciliation view's matrix: current results counted per cohort (or batch-load job),
-- stage, prefix and batch, with the newest run that wrote them. Filters: a scope the rows
-- must contain (e.g. {"env": "prod"}) and the days their checks finished on.
SELECT env, cohort_id, scope->>'job' AS job, stage, prefix, batch_id,
       count(*)                                   AS total,
       count(*) FILTER (WHERE status = 'Match')    AS matched,
       count(*) FILTER (WHERE status = 'Mismatch') AS mismatched,
       count(*) FILTER (WHERE status = 'Error')    AS errored,
       min(started_at)                             AS started_at,
       max(finished_at)                            AS finished_at,
       (array_agg(run_id ORDER BY finished_at DESC, id DESC))[1] AS last_run_id
  FROM recon.check_result
 WHERE scope @> %(scope)s::jsonb
   AND stage IS NOT NULL
   AND (%(since)s::date IS NULL OR finished_at >= %(since)s::date)
   AND (%(until)s::date IS NULL OR finished_at < %(until)s::date + 1)
 GROUP BY env, cohort_id, scope->>'job', stage, prefix, batch_id
 ORDER BY env, cohort_id, job, stage, prefix NULLS FIRST, batch_id NULLS FIRST;
