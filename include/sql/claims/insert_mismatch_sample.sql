INSERT INTO metrics.mismatch_detail_sample (run_id, run_date, key_text, mismatch_type, payload)
VALUES %s
