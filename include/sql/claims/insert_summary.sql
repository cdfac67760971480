INSERT INTO metrics.recon_summary
    (run_id, dataset, run_date, key_columns, old_rows, new_rows, matched_keys, missing_in_new,
     extra_in_new, changed_rows, duplicate_keys_old, duplicate_keys_new)
VALUES
    (%(run_id)s, %(dataset)s, %(run_date)s, %(key_columns)s, %(old_rows)s, %(new_rows)s, %(matched_keys)s,
     %(missing_in_new)s, %(extra_in_new)s, %(changed_rows)s, %(duplicate_keys_old)s, %(duplicate_keys_new)s)
