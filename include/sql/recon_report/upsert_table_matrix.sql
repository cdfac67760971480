-- Keep recon_report.etl_stage_table_matrix in step with include/config/reports/etl_stage_matrix.yaml:
-- where each service table lives per layer in this deployment (NULLs when not deployed).
INSERT INTO recon_report.etl_stage_table_matrix
    (service, table_name, transform_table, stage_store, stage_table, target_table)
VALUES (%(service)s, %(table_name)s, %(transform_table)s, %(stage_store)s, %(stage_table)s, %(target_table)s)
ON CONFLICT (service, table_name) DO UPDATE
   SET transform_table = EXCLUDED.transform_table,
       stage_store     = EXCLUDED.stage_store,
       stage_table     = EXCLUDED.stage_table,
       target_table    = EXCLUDED.target_table;
