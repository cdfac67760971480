-- The run listener saw the run start: the job exists as PENDING (waiting for its input file) or
-- QUEUED (waiting for a worker) until its first task opens it. Never moves a job backwards.
INSERT INTO recon.subscriber_job (job_type, job_status, dag_id, run_id, filters)
VALUES (%(job_type)s, %(job_status)s, %(dag_id)s, %(run_id)s, %(filters)s)
ON CONFLICT (dag_id, run_id) DO NOTHING;
