-- Fault drill shift_amount: after a worker wrote its staging rows, the amount of its first
-- %(n)s rows (with an amount) moves by %(delta)s. {staging} and {amount} are quoted by psycopg2.sql.
UPDATE {staging}
   SET {amount} = {amount} + %(delta)s
 WHERE run_id = %(run_id)s
   AND line_no IN (SELECT line_no FROM {staging}
                    WHERE run_id = %(run_id)s AND worker_id = %(worker_id)s AND {amount} IS NOT NULL
                    ORDER BY line_no LIMIT %(n)s);
