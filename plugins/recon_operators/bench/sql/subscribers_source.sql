-- DuckDB: N synthetic subscribers, 17 columns, MSISDN text key. Deterministic (no random()), so
-- every run diffs the same data and the truth is known. Parameter: $rows. The columns a migration
-- retypes: updated_at (timestamp(6) -> DATETIME(6), real microseconds), is_migratable (boolean ->
-- TINYINT(1), written 1/0) and profile (jsonb -> JSON, the text Postgres prints for the document).
COPY (
    SELECT
        '628' || lpad(CAST(1000000000 + i * 7 AS VARCHAR), 10, '0')                AS msisdn,
        '51010' || lpad(CAST(i AS VARCHAR), 10, '0')                                AS imsi,
        i                                                                          AS subscriber_id,
        'name_' || CAST(i % 9973 AS VARCHAR)                                       AS first_name,
        'user' || CAST(i AS VARCHAR) || '@example.com'                             AS email,
        CASE i % 4 WHEN 0 THEN 'ACTIVE' WHEN 1 THEN 'IDLE' WHEN 2 THEN 'ACTIVE' ELSE 'BARRED' END AS status,
        'PLAN' || CAST(i % 37 AS VARCHAR)                                          AS plan_code,
        CAST((i % 100000) / 100.0 AS DECIMAL(14, 2))                               AS balance,
        CAST(i % 50000 AS INTEGER)                                                 AS data_mb,
        TIMESTAMP '2020-01-01 00:00:00' + to_seconds(CAST(i * 13 % 126230400 AS BIGINT)) AS activated_at,
        DATE '2024-01-01' + CAST(i % 700 AS INTEGER)                               AS last_topup,
        'REGION_' || CAST(i % 11 AS VARCHAR)                                       AS region,
        CAST(i % 2 AS SMALLINT)                                                    AS is_postpaid,
        CAST(i % 1000 AS DOUBLE) / 8                                               AS score,
        TIMESTAMP '2021-01-01 00:00:00' + to_microseconds(CAST(i * 7919 % 31536000000000 AS BIGINT)) AS updated_at,
        CAST(i % 3 <> 0 AS INTEGER)                                                AS is_migratable,
        '{"plan": "PLAN' || CAST(i % 37 AS VARCHAR) || '", "tags": ["' || CASE i % 2 WHEN 0 THEN 'prepaid' ELSE 'postpaid' END
            || '"], "score": ' || CAST(i % 997 AS VARCHAR) || '}'                  AS profile
    FROM range(0, $rows) AS t(i)
) TO {source} (HEADER, DELIMITER ',');
