-- A worker's rejected records with the reason, kept so no record of the source is lost.
INSERT INTO {rejects} (run_id, worker_id, line_no, reason, record) VALUES %s;
