-- Load the caller's counts (psycopg2.extras.execute_values fills the single VALUES placeholder).
INSERT INTO pg_temp.mr2_subset_counts (service, subset, transform_count, stage_count)
VALUES %s;
