INSERT INTO metrics.mismatch_by_column (run_id, run_date, column_name, mismatch_count)
VALUES %s
