-- Mini Recon 1 prefix summary precondition: which of the prefix's batches have no recon_01
-- status row written by this DAG run (run ids of its batch reports start with run_prefix).
-- A batch reported only by an earlier run does not count: its numbers may be stale.
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
           AND starts_with(s.run_id, %(run_prefix)s))
 ORDER BY b.batch_id;
