-- Out-of-sync subscribers to retry: this job's and those of jobs no longer running.
SELECT s.id, s.uid
  FROM recon.subscriber_sync_issue s
  JOIN recon.subscriber_job j ON j.job_id = s.job_id
 WHERE s.status = 'OPEN'
   AND (s.job_id = %(job_id)s OR j.job_status NOT IN ('PENDING', 'QUEUED', 'RUNNING'))
 ORDER BY s.id
   FOR UPDATE OF s SKIP LOCKED;
