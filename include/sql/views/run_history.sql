-- One point per run for the trend plots: the current results and the ones later runs replaced
-- (rows a task retry replaced with its own are not counted twice). Optional narrowing to one
-- suite, check and group; run keys are the Airflow run id when an Airflow task wrote the row.
WITH ledger AS (
    SELECT run_id, suite, check_name, group_key, discrepancy, status, started_at, finished_at
      FROM recon.check_result
     WHERE scope @> %(scope)s::jsonb
    UNION ALL
    SELECT run_id, suite, check_name, group_key, discrepancy, status, started_at, finished_at
      FROM recon.check_result_history
     WHERE scope @> %(scope)s::jsonb AND superseded_by IS DISTINCT FROM run_id
)
SELECT CASE WHEN run_id LIKE '%%/%%' THEN split_part(run_id, '/', 1) END AS dag_id,
       coalesce(nullif(split_part(run_id, '/', 2), ''), run_id)          AS dag_run_id,
       min(started_at)                                                   AS started_at,
       max(finished_at)                                                  AS finished_at,
       count(*)                                                          AS total,
       count(*) FILTER (WHERE status = 'Match')                          AS matched,
       sum(discrepancy)                                                  AS discrepancy
  FROM ledger
 WHERE (%(suite)s::text IS NULL OR suite = %(suite)s::text)
   AND (%(check_name)s::text IS NULL OR check_name = %(check_name)s::text)
   AND (%(group_key)s::text IS NULL OR group_key = %(group_key)s::text)
 GROUP BY 1, 2
 ORDER BY min(started_at), 2;
