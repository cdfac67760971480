-- The run ended (listener): COMPLETED, FAILED or CANCELLED, with the reason. A cancel stands:
-- a later FAILED for the same run (the killed tasks) does not overwrite it.
UPDATE recon.subscriber_job
   SET job_status = %(job_status)s, error = %(error)s, finished_at = now(), updated_at = now()
 WHERE dag_id = %(dag_id)s AND run_id = %(run_id)s
   AND NOT (job_status = 'CANCELLED' AND %(job_status)s = 'FAILED')
RETURNING job_id, job_status;
