-- The run ended (listener): COMPLETED, FAILED or CANCELLED, with the reason (a failed job keeps
-- the line its failing task recorded, which says more than "task_failure"). A cancel stands:
-- what the cancelled run's tasks do afterwards does not overwrite it (only reopening the job,
-- when the run is cleared and runs again, does).
UPDATE recon.subscriber_job
   SET job_status = %(job_status)s,
       error = CASE %(job_status)s WHEN 'COMPLETED' THEN NULL WHEN 'CANCELLED' THEN %(error)s
                    ELSE coalesce(error, %(error)s) END,
       finished_at = now(), updated_at = now()
 WHERE dag_id = %(dag_id)s AND run_id = %(run_id)s
   AND job_status <> 'CANCELLED'
RETURNING job_id, job_status;
