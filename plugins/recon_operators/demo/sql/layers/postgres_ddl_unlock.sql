-- Built-in loaders: release the layer-DDL session lock taken by postgres_ddl_lock.sql.
SELECT pg_advisory_unlock(hashtext('recon_operators.layer_tables'));
