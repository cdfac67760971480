-- The job's counts: rows rejected by validation (in details.rejected) plus its chunks' counts,
-- so a job shows its progress while chunks still run.
UPDATE recon.subscriber_job j
   SET processed_records = coalesce((j.details ->> 'rejected')::bigint, 0) + c.processed,
       success_records   = c.succeeded,
       failed_records    = coalesce((j.details ->> 'rejected')::bigint, 0) + c.failed,
       details = j.details || jsonb_build_object('inserted', c.inserted, 'updated', c.updated, 'deleted', c.deleted,
                                                 'unchanged', c.unchanged, 'compensated', c.compensated,
                                                 'out_of_sync', c.out_of_sync, 'chunks', c.chunks),
       updated_at = now()
  FROM (SELECT coalesce(sum(processed), 0) AS processed, coalesce(sum(succeeded), 0) AS succeeded,
               coalesce(sum(failed), 0) AS failed, coalesce(sum(inserted), 0) AS inserted,
               coalesce(sum(updated), 0) AS updated, coalesce(sum(deleted), 0) AS deleted,
               coalesce(sum(unchanged), 0) AS unchanged, coalesce(sum(compensated), 0) AS compensated,
               coalesce(sum(out_of_sync), 0) AS out_of_sync, count(*) AS chunks
          FROM recon.subscriber_job_chunk WHERE job_id = %(job_id)s) c
 WHERE j.job_id = %(job_id)s
RETURNING j.processed_records, j.success_records, j.failed_records;
