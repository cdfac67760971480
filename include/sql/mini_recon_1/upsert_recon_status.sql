-- Mini Recon 1: the batch's ledger row (recon_01). active_status is Passed only when every
-- result row of the batch passed. A rerun updates the row in place and clears
-- prefix_summary_status, so the prefix summary is triggered again over the new batch results.
INSERT INTO mini_recon_1.recon_status
    (run_id, env, cohort_id, prefix_id, prefix, batch_id, msisdn_start, msisdn_end,
     recon_number, active_status)
VALUES (%(run_id)s, %(env)s, %(cohort_id)s, %(prefix_id)s, %(prefix)s, %(batch_id)s,
        %(msisdn_start)s, %(msisdn_end)s, 'recon_01', %(active_status)s)
ON CONFLICT ON CONSTRAINT recon_status_batch_key DO UPDATE
   SET run_id = EXCLUDED.run_id,
       env = EXCLUDED.env,
       prefix_id = EXCLUDED.prefix_id,
       msisdn_start = EXCLUDED.msisdn_start,
       msisdn_end = EXCLUDED.msisdn_end,
       active_status = EXCLUDED.active_status,
       prefix_summary_status = NULL,
       updated_at = now()
RETURNING active_status;
