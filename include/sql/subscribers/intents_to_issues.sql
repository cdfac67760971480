-- Intents left behind by writers that stopped half-way, of this job or of jobs no longer
-- running, become out-of-sync records (one per uid), and go.
WITH stale AS (
    DELETE FROM recon.subscriber_write_intent i
     USING recon.subscriber_job j
     WHERE j.job_id = i.job_id
       AND (i.job_id = %(job_id)s OR j.job_status NOT IN ('PENDING', 'QUEUED', 'RUNNING'))
 RETURNING i.job_id, i.chunk, i.uids
)
INSERT INTO recon.subscriber_sync_issue (job_id, uid, reason)
SELECT job_id, uid, 'the writer of ' || chunk || ' stopped before both sides were confirmed'
  FROM stale, unnest(uids) AS uid
ON CONFLICT (job_id, uid) DO UPDATE SET reason = EXCLUDED.reason, status = 'OPEN', resolved_at = NULL;
