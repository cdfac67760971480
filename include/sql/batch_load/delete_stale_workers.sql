-- Rows of this run written by workers the new plan no longer has (the file was re-split).
DELETE FROM {table} WHERE run_id = %(run_id)s AND worker_id <> ALL(%(worker_ids)s);
