-- A worker's valid records; psycopg2.extras.execute_values expands the VALUES placeholder.
INSERT INTO {staging} (run_id, worker_id, line_no, {columns}) VALUES %s;
