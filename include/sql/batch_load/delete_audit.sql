-- A rerun of a batch run replaces its audit rows and worker metrics (results store).
DELETE FROM recon.recon_audit WHERE run_id = %(run_id)s AND job_name = %(job_name)s;
DELETE FROM recon.batch_worker_metrics WHERE run_id = %(run_id)s AND job_name = %(job_name)s;
