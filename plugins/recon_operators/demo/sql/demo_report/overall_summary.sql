-- Demo report: Source -> Target per prefix, service and subset, with the count at every layer.
SELECT prefix_id, service, subset, source_count, transform_count, stage_count, target_count,
       source_target_difference, status_match
  FROM recon_report.tbl_recon_report_overall_summary
 WHERE env = %(env)s AND cohort_id = %(cohort_id)s
 ORDER BY prefix_id, service, subset;
