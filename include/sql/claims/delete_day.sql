-- A rerun of a business day replaces that day's rows: the run log row goes, and with it
-- (ON DELETE CASCADE) the summary, the per-column counts and the sample of the earlier run.
DELETE FROM metrics.pipeline_run_log WHERE dataset = %(dataset)s AND run_date = %(run_date)s
