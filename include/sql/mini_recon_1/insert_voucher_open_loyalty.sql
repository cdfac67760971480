-- Mini Recon 1: open vouchers of one voucher type in a batch and their loyalty points, landed
-- (migratable subscribers) vs transformation. Passed only when both counts and points agree.
INSERT INTO mini_recon_1.tbl_report_voucher_open_loyalty
    (run_id, env, cohort_id, prefix_id, prefix, batch_id, msisdn_start, msisdn_end, subset,
     source_system, src_count, trgt_count, difference, src_points, trgt_points, points_difference,
     status)
SELECT %(run_id)s, %(env)s, %(cohort_id)s, %(prefix_id)s, %(prefix)s, %(batch_id)s,
       %(msisdn_start)s, %(msisdn_end)s, %(subset)s, %(source_system)s,
       v.src, v.trgt, v.src - v.trgt, v.src_pts, v.trgt_pts, v.src_pts - v.trgt_pts,
       CASE WHEN v.src = v.trgt AND v.src_pts = v.trgt_pts THEN 'Passed' ELSE 'Failed' END
  FROM (SELECT %(src_count)s::bigint AS src, %(trgt_count)s::bigint AS trgt,
               %(src_points)s::bigint AS src_pts, %(trgt_points)s::bigint AS trgt_pts) v
RETURNING status;
