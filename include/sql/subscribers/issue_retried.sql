-- One retry of an out-of-sync subscriber: resolved, or still open with the last error.
UPDATE recon.subscriber_sync_issue
   SET attempts = attempts + 1,
       status = CASE WHEN %(error)s::text IS NULL THEN 'RESOLVED' ELSE 'OPEN' END,
       last_error = %(error)s,
       resolved_at = CASE WHEN %(error)s::text IS NULL THEN now() END
 WHERE id = %(id)s;
