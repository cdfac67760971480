-- What a task learnt about its job: output keys, the export URL, details (counts by kind, the
-- audit's sync summary). NULL leaves a field as it was.
UPDATE recon.subscriber_job
   SET input_file_key   = coalesce(%(input_file_key)s, input_file_key),
       output_file_key  = coalesce(%(output_file_key)s, output_file_key),
       rejects_file_key = coalesce(%(rejects_file_key)s, rejects_file_key),
       output_url       = coalesce(%(output_url)s, output_url),
       processed_records = coalesce(%(processed)s, processed_records),
       success_records   = coalesce(%(succeeded)s, success_records),
       failed_records    = coalesce(%(failed)s, failed_records),
       details = details || %(details)s,
       updated_at = now()
 WHERE job_id = %(job_id)s
RETURNING job_id;
