-- A task of the job failed: its one masked line, shown as the job's error when the run ends
-- failed (the latest task error wins; the run listener's reason fills in when no task said).
UPDATE recon.subscriber_job
   SET error = %(error)s, updated_at = now()
 WHERE dag_id = %(dag_id)s AND run_id = %(run_id)s;
