-- A job's first processing task: the job exists (created here, or PENDING/QUEUED by the run
-- listener) and is RUNNING. A retried or cleared run reopens its own row; nothing else changes.
INSERT INTO recon.subscriber_job (job_type, job_status, dag_id, run_id, mode, input_file_key, filters, started_at)
VALUES (%(job_type)s, 'RUNNING', %(dag_id)s, %(run_id)s, %(mode)s, %(input_file_key)s, %(filters)s, now())
ON CONFLICT (dag_id, run_id) DO UPDATE
   SET job_status = 'RUNNING', mode = EXCLUDED.mode,
       input_file_key = coalesce(recon.subscriber_job.input_file_key, EXCLUDED.input_file_key),
       filters = EXCLUDED.filters, error = NULL, finished_at = NULL,
       started_at = coalesce(recon.subscriber_job.started_at, EXCLUDED.started_at), updated_at = now()
RETURNING job_id, input_file_key, started_at;
