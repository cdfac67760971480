-- Fault drill merge_loses_rows: after the MERGE, %(n)s of the rows it upserted for the run are
-- gone from the final table. {final} and {key_columns} are quoted by psycopg2.sql.
DELETE FROM {final}
 WHERE last_run_id = %(run_id)s
   AND ctid IN (SELECT ctid FROM {final} WHERE last_run_id = %(run_id)s ORDER BY {key_columns} LIMIT %(n)s);
