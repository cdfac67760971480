-- How many matched keys differ in each compared column, for one claims run.
SELECT column_name, mismatch_count
  FROM metrics.mismatch_by_column
 WHERE run_id = %(run_id)s
 ORDER BY mismatch_count DESC, column_name;
