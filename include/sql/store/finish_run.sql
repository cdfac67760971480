-- Close a run with its outcome, the error that ended it (if any) and the end time.
UPDATE "Migration".log_table
   SET status = %(status)s, error = %(error)s, end_time = now()
 WHERE run_id = %(run_id)s
RETURNING log_id;
