-- Mini Recon 3 BRM data prep: the landed BRM billing extract (migratable subscribers' accounts)
-- vs the target's balances for one batch. Passed only when the account counts and the exact
-- balance totals are both equal; difference = brm_count - target_count.
INSERT INTO mini_recon_3.tbl_data_prep_brm
    (run_id, env, cohort_id, prefix_id, prefix, batch_id, msisdn_start, msisdn_end, brm_file, brm_count,
     target_count, brm_balance_sum, target_balance_sum, difference, status)
SELECT %(run_id)s, %(env)s, %(cohort_id)s, %(prefix_id)s, %(prefix)s, %(batch_id)s, %(msisdn_start)s,
       %(msisdn_end)s, %(brm_file)s, v.b, v.t, v.b_sum, v.t_sum, v.b - v.t,
       CASE WHEN v.b = v.t AND v.b_sum = v.t_sum THEN 'Passed' ELSE 'Failed' END
  FROM (SELECT %(brm_count)s::bigint AS b, %(target_count)s::bigint AS t,
               %(brm_balance_sum)s::numeric AS b_sum, %(target_balance_sum)s::numeric AS t_sum) v
RETURNING status;
