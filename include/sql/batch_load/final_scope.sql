-- Final rows stamped by one run: the filter of the final side of the staging-vs-final count.
last_run_id = :run_id
