-- The chunk's dual write finished: both sides agree for every uid but the out-of-sync ones.
DELETE FROM recon.subscriber_write_intent WHERE job_id = %(job_id)s AND chunk = %(chunk)s;
