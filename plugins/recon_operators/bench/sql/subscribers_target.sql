-- DuckDB: the target side = the source with a known 0.2% of differences: every 2000th row
-- (offset 3) deleted, as many extra rows added, every 1000th row (offset 1) changed in balance
-- and, one in two of those, in status too; every 5000th (offset 7) one microsecond later in
-- updated_at, every 4000th (offset 11) with is_migratable flipped, every 6000th (offset 13) with
-- one JSON value changed. Parameters: $rows, $extras; {source}/{target} the files (string literals).
COPY (
    SELECT msisdn, imsi, subscriber_id, first_name, email,
           CASE WHEN id % 1000 = 1 AND id % 2000 = 1 THEN 'SUSPENDED' ELSE status END AS status,
           plan_code,
           CASE WHEN id % 1000 = 1 THEN CAST(CAST(balance AS DECIMAL(14, 2)) + 1 AS VARCHAR) ELSE balance END AS balance,
           data_mb, activated_at, last_topup, region, is_postpaid, score,
           CASE WHEN id % 5000 = 7 THEN CAST(CAST(updated_at AS TIMESTAMP) + INTERVAL 1 MICROSECOND AS VARCHAR)
                ELSE updated_at END AS updated_at,
           CASE WHEN id % 4000 = 11 THEN CAST(1 - CAST(is_migratable AS INTEGER) AS VARCHAR) ELSE is_migratable END
               AS is_migratable,
           CASE WHEN id % 6000 = 13 THEN replace(profile, '"score": ', '"score": 1') ELSE profile END AS profile
    FROM (SELECT *, CAST(subscriber_id AS BIGINT) AS id
          FROM read_csv({source}, header = true, all_varchar = true))
    WHERE id % 2000 <> 3
    UNION ALL
    SELECT '629' || lpad(CAST(i AS VARCHAR), 10, '0'), '51011' || lpad(CAST(i AS VARCHAR), 10, '0'), CAST($rows + i AS VARCHAR),
           'extra', 'extra' || CAST(i AS VARCHAR) || '@example.com', 'ACTIVE', 'PLAN0', '1.50', '1',
           '2025-01-01 00:00:00', '2025-01-01', 'REGION_0', '0', '0.5', '2025-01-01 00:00:00.000001', '1',
           '{"plan": "PLAN0", "tags": [], "score": 0}'
    FROM range(0, $extras) AS t(i)
) TO {target} (HEADER, DELIMITER ',');
