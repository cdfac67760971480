-- Report writers: remove one scope's previous rows from one report table before writing the
-- new ones in the same transaction, so a rerun replaces its own rows and never another scope's.
-- {table} is one name from the writer's fixed allow-list, validated and quoted.
-- The scope is matched NULL-safely: a prefix-level row (batch_id NULL) is another scope than a
-- batch row of that prefix, and a cohort-level row (prefix NULL) another than a prefix row.
DELETE FROM {table}
 WHERE env = %(env)s
   AND cohort_id = %(cohort_id)s
   AND prefix_id IS NOT DISTINCT FROM %(prefix_id)s::text
   AND prefix IS NOT DISTINCT FROM %(prefix)s::text
   AND batch_id IS NOT DISTINCT FROM %(batch_id)s::text;
