-- One worker's rows of one run (staging or rejects), removed before the worker writes them again.
DELETE FROM {table} WHERE run_id = %(run_id)s AND worker_id = %(worker_id)s;
