-- Upsert one run's staging rows into the final table, stamping last_run_id. Rerunning it gives
-- the same final table (MATCHED rows are updated, never duplicated). A key present twice in
-- the file keeps its last record (DISTINCT ON ... line_no DESC), as a sequential load would.
-- The braced names are identifiers and column lists built from the validated job config,
-- quoted by psycopg2.sql.
MERGE INTO {final} AS f
USING (
    SELECT DISTINCT ON ({key_columns}) {columns}
      FROM {staging}
     WHERE run_id = %(run_id)s
     ORDER BY {key_columns}, line_no DESC
) AS s
ON {key_match}
WHEN MATCHED THEN
    UPDATE SET {set_columns}, last_run_id = %(run_id)s
WHEN NOT MATCHED THEN
    INSERT ({columns}, last_run_id) VALUES ({source_columns}, %(run_id)s);
