-- Mini Recon 1 batch reports: remove one batch's previous rows from one result table.
-- <table> is replaced by the Python side (recon_operators.migration.mr1_reports) with one name
-- from its fixed allow-list, validated and quoted. Scope: env, cohort, prefix and batch, the
-- same columns every batch writer stamps, so a rerun replaces only its own batch.
DELETE FROM {table}
 WHERE env = %(env)s
   AND cohort_id = %(cohort_id)s
   AND prefix_id = %(prefix_id)s
   AND prefix = %(prefix)s
   AND batch_id = %(batch_id)s;
