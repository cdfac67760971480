-- Fault drill drop_rows: after a worker wrote its staging rows, its last %(n)s rows vanish (the
-- worker still reports them as written). {staging} is quoted by psycopg2.sql.
DELETE FROM {staging}
 WHERE run_id = %(run_id)s
   AND line_no IN (SELECT line_no FROM {staging}
                    WHERE run_id = %(run_id)s AND worker_id = %(worker_id)s
                    ORDER BY line_no DESC LIMIT %(n)s);
