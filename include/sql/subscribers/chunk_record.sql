-- One chunk's counts (a retry of the chunk replaces them).
INSERT INTO recon.subscriber_job_chunk
    (job_id, chunk, processed, succeeded, failed, inserted, updated, deleted, unchanged, compensated, out_of_sync)
VALUES (%(job_id)s, %(chunk)s, %(processed)s, %(succeeded)s, %(failed)s, %(inserted)s, %(updated)s, %(deleted)s,
        %(unchanged)s, %(compensated)s, %(out_of_sync)s)
ON CONFLICT (job_id, chunk) DO UPDATE
   SET processed = EXCLUDED.processed, succeeded = EXCLUDED.succeeded, failed = EXCLUDED.failed,
       inserted = EXCLUDED.inserted, updated = EXCLUDED.updated, deleted = EXCLUDED.deleted,
       unchanged = EXCLUDED.unchanged, compensated = EXCLUDED.compensated, out_of_sync = EXCLUDED.out_of_sync,
       recorded_at = now();
