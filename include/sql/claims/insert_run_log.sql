INSERT INTO metrics.pipeline_run_log
    (run_id, dataset, run_date, run_ts, status, old_file, new_file, inbound_prefix, processed_prefix,
     output_prefix, error_message, finished_ts)
VALUES
    (%(run_id)s, %(dataset)s, %(run_date)s, %(run_ts)s, %(status)s, %(old_file)s, %(new_file)s,
     %(inbound_prefix)s, %(processed_prefix)s, %(output_prefix)s, %(error_message)s, now())
