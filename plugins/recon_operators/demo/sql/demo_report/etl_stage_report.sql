-- Demo report: rows per service table at Transform, Stage and Target (deployed tables only).
SELECT service, table_name, transform_count, stage_count, target_count, transform_stage_difference,
       stage_target_difference, status
  FROM recon_report.tbl_recon_etl_stage_report
 WHERE env = %(env)s AND cohort_id = %(cohort_id)s AND status IS NOT NULL
 ORDER BY service, table_name;
