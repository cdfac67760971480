-- A subscriber left different in Cloud and Legacy (reopened if it was resolved before).
INSERT INTO recon.subscriber_sync_issue (job_id, uid, reason) VALUES (%(job_id)s, %(uid)s, %(reason)s)
ON CONFLICT (job_id, uid) DO UPDATE SET reason = EXCLUDED.reason, status = 'OPEN', resolved_at = NULL;
