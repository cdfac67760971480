-- Demo report: Mini Recon 3 prefix summaries (stage vs target, and the BRM extract vs target).
SELECT 'data prep', prefix_id, total_checks, failed_checks, match_percent, status_match,
       array_to_string(failed_subsets, ',')
  FROM mini_recon_3.tbl_prefix_summary
 WHERE env = %(env)s AND cohort_id = %(cohort_id)s
UNION ALL
SELECT 'BRM', prefix_id, total_checks, failed_checks, match_percent, status_match,
       array_to_string(failed_subsets, ',')
  FROM mini_recon_3.tbl_prefix_summary_brm
 WHERE env = %(env)s AND cohort_id = %(cohort_id)s
 ORDER BY 1 DESC, 2;
