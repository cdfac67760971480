-- The benchmark's floor: DuckDB's own full outer join diff of the two CSV files, every column
-- compared as text. {source}/{target} are the files (string literals).
WITH s AS (SELECT * FROM read_csv({source}, header = true, all_varchar = true)),
     t AS (SELECT * FROM read_csv({target}, header = true, all_varchar = true))
SELECT count(*) FILTER (WHERE t.msisdn IS NULL) AS missing,
       count(*) FILTER (WHERE s.msisdn IS NULL) AS extra,
       count(*) FILTER (WHERE s.msisdn IS NOT NULL AND t.msisdn IS NOT NULL AND (
           s.imsi IS DISTINCT FROM t.imsi OR s.subscriber_id IS DISTINCT FROM t.subscriber_id
           OR s.first_name IS DISTINCT FROM t.first_name OR s.email IS DISTINCT FROM t.email
           OR s.status IS DISTINCT FROM t.status OR s.plan_code IS DISTINCT FROM t.plan_code
           OR s.balance IS DISTINCT FROM t.balance OR s.data_mb IS DISTINCT FROM t.data_mb
           OR s.activated_at IS DISTINCT FROM t.activated_at OR s.last_topup IS DISTINCT FROM t.last_topup
           OR s.region IS DISTINCT FROM t.region OR s.is_postpaid IS DISTINCT FROM t.is_postpaid
           OR s.score IS DISTINCT FROM t.score OR s.updated_at IS DISTINCT FROM t.updated_at
           OR s.is_migratable IS DISTINCT FROM t.is_migratable OR s.profile IS DISTINCT FROM t.profile)) AS changed
FROM s FULL OUTER JOIN t ON s.msisdn = t.msisdn;
