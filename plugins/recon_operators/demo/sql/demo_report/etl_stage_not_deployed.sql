-- Demo report: how many matrix tables the ETL stage report marked not deployed in this environment.
SELECT count(*)
  FROM recon_report.tbl_recon_etl_stage_report
 WHERE env = %(env)s AND cohort_id = %(cohort_id)s AND status IS NULL;
