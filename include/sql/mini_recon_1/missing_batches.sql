-- Mini Recon 1 prefix summary precondition: which of the prefix's batches have no recon_01
-- status row. Batches this DAG run recomputes (fresh_batch_ids) need a row written by this run
-- (run ids of its batch reports start with run_prefix): an earlier run's numbers may be stale.
-- Other batches of the prefix (a partial rerun) count with the row their last run wrote.
SELECT b.batch_id
  FROM unnest(%(batch_ids)s::text[]) AS b(batch_id)
 WHERE NOT EXISTS (
        SELECT 1
          FROM mini_recon_1.recon_status s
         WHERE s.recon_number = 'recon_01'
           AND s.env = %(env)s
           AND s.cohort_id = %(cohort_id)s
           AND s.prefix_id = %(prefix_id)s
           AND s.prefix = %(prefix)s
           AND s.batch_id = b.batch_id
           AND (NOT b.batch_id = ANY(%(fresh_batch_ids)s::text[]) OR starts_with(s.run_id, %(run_prefix)s)))
 ORDER BY b.batch_id;
