-- Daily claims runs with their OLD vs NEW totals, newest day first.
SELECT l.run_id, l.dataset, l.run_date, l.status, l.error_message, l.run_ts, l.finished_ts,
       s.old_rows, s.new_rows, s.matched_keys, s.missing_in_new, s.extra_in_new, s.changed_rows,
       s.duplicate_keys_old, s.duplicate_keys_new
  FROM metrics.pipeline_run_log l
  LEFT JOIN metrics.recon_summary s USING (run_id)
 WHERE (%(dataset)s::text IS NULL OR l.dataset = %(dataset)s::text)
   AND (%(run_date)s::date IS NULL OR l.run_date = %(run_date)s::date)
   AND (%(since)s::date IS NULL OR l.run_date >= %(since)s::date)
   AND (%(until)s::date IS NULL OR l.run_date <= %(until)s::date)
 ORDER BY l.run_date DESC, l.dataset;
