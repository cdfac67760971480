-- The run ended (listener): COMPLETED, FAILED or CANCELLED, with the reason. A cancel stands:
-- what the cancelled run's tasks do afterwards does not overwrite it (only reopening the job,
-- when the run is cleared and runs again, does).
UPDATE recon.subscriber_job
   SET job_status = %(job_status)s, error = %(error)s, finished_at = now(), updated_at = now()
 WHERE dag_id = %(dag_id)s AND run_id = %(run_id)s
   AND job_status <> 'CANCELLED'
RETURNING job_id, job_status;
