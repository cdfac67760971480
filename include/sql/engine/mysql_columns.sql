-- Declared types of a table's columns (MariaDB's JSON is LONGTEXT with a json_valid check).
SELECT c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE, c.NUMERIC_PRECISION, c.NUMERIC_SCALE, c.DATETIME_PRECISION,
       EXISTS (SELECT 1 FROM information_schema.CHECK_CONSTRAINTS k
               WHERE k.CONSTRAINT_SCHEMA = c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME
                 AND k.CHECK_CLAUSE = CONCAT('json_valid(`', c.COLUMN_NAME, '`)')) AS is_json
FROM information_schema.COLUMNS c
WHERE c.TABLE_SCHEMA = COALESCE(%(schema)s, DATABASE()) AND c.TABLE_NAME = %(table)s
ORDER BY c.ORDINAL_POSITION
