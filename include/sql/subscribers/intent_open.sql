-- A chunk's dual write is about to start (a retry of the chunk replaces its intent).
INSERT INTO recon.subscriber_write_intent (job_id, chunk, uids) VALUES (%(job_id)s, %(chunk)s, %(uids)s)
ON CONFLICT (job_id, chunk) DO UPDATE SET uids = EXCLUDED.uids, created_at = now();
