-- Mini Recon 2 per-service rollup of one batch over all eight tables: Passed only when none of
-- the service's subsets failed. Counts come from the rows just written in the same transaction.
INSERT INTO mini_recon_2.tbl_recon_2_summary
    (run_id, env, cohort_id, prefix_id, prefix, batch_id, msisdn_start, msisdn_end, service,
     total_subsets, failed_subsets, status)
VALUES (%(run_id)s, %(env)s, %(cohort_id)s, %(prefix_id)s, %(prefix)s, %(batch_id)s, %(msisdn_start)s,
        %(msisdn_end)s, %(service)s, %(total_subsets)s, %(failed_subsets)s,
        CASE WHEN %(failed_subsets)s::integer = 0 THEN 'Passed' ELSE 'Failed' END)
RETURNING status;
