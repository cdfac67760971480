-- Demo report: Mini Recon 1 prefix summaries of one cohort (landed - non-migratable = transformed).
SELECT prefix_id, coalesce(subscriber_status, '(none)'), src_count, non_migratable_count, trgt_count,
       match_percent, status_match, migratable_count_status, array_to_string(failed_subsets, ',')
  FROM mini_recon_1.tbl_recon_report_prefix_summary
 WHERE env = %(env)s AND cohort_id = %(cohort_id)s
 ORDER BY prefix_id, subscriber_status;
