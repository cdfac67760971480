-- What one worker of a batch run reported (results store).
INSERT INTO recon.batch_worker_metrics
    (run_id, job_name, worker_id, records_read, records_processed, records_written, records_rejected,
     started_at, finished_at)
VALUES (%(run_id)s, %(job_name)s, %(worker_id)s, %(records_read)s, %(records_processed)s,
        %(records_written)s, %(records_rejected)s, %(started_at)s, %(finished_at)s);
