-- One job as the job API of the reference shows it.
SELECT job_id::text, job_type, job_status, dag_id, run_id, mode, input_file_key, output_file_key,
       rejects_file_key, output_url, processed_records, success_records, failed_records, filters, details,
       error, created_at, started_at, finished_at
  FROM recon.subscriber_job
 WHERE (%(job_id)s::uuid IS NULL OR job_id = %(job_id)s::uuid)
   AND (%(dag_id)s::text IS NULL OR (dag_id = %(dag_id)s AND run_id = %(run_id)s))
 ORDER BY created_at DESC
 LIMIT %(limit)s;
