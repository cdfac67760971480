-- Every staging (or reject) row of one run, removed when the run is planned again: the file may be
-- split differently this time, so no row may stay behind under an old worker's line range.
DELETE FROM {table} WHERE run_id = %(run_id)s;
