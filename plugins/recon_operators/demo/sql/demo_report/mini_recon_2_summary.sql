-- Demo report: Mini Recon 2 per service, summed over the cohort's batches (transformation vs stage).
SELECT service, sum(total_subsets), sum(failed_subsets),
       CASE WHEN bool_and(status = 'Passed') THEN 'Passed' ELSE 'Failed' END
  FROM mini_recon_2.tbl_recon_2_summary
 WHERE env = %(env)s AND cohort_id = %(cohort_id)s
 GROUP BY service
 ORDER BY service;
