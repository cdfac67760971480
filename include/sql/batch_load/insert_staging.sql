-- A worker's valid records (VALUES %s is expanded by psycopg2.extras.execute_values).
INSERT INTO {staging} (run_id, worker_id, line_no, {columns}) VALUES %s;
