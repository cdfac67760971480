-- Cohort-level report writers (overall summary, ETL stage report): remove the cohort's previous
-- rows of one report table before the rewrite in the same transaction, so a rerun replaces the
-- cohort's report as a whole (also prefixes dropped from its config) and never another cohort's.
-- {table} is one name from the writer's fixed allow-list, validated and quoted.
DELETE FROM {table}
 WHERE env = %(env)s
   AND cohort_id = %(cohort_id)s;
