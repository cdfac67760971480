-- One check verdict of a batch run (worker_id set on per-worker rows, NULL on totals).
INSERT INTO recon.recon_audit
    (run_id, job_name, check_name, check_kind, worker_id, expected_value, actual_value,
     expected_text, actual_text, passed, discrepancy, tolerance, message, check_ts)
VALUES (%(run_id)s, %(job_name)s, %(check_name)s, %(check_kind)s, %(worker_id)s, %(expected_value)s,
        %(actual_value)s, %(expected_text)s, %(actual_text)s, %(passed)s, %(discrepancy)s, %(tolerance)s,
        %(message)s, %(check_ts)s);
