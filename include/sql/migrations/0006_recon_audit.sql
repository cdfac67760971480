-- Generic check audit trail for batch loads outside the cohort recon tables.
-- recon.recon_audit keeps one row per check verdict (totals, and per-worker breakdown rows);
-- recon.batch_worker_metrics keeps what each reader/processor/writer worker reported.

CREATE SCHEMA IF NOT EXISTS recon;

CREATE TABLE IF NOT EXISTS recon.recon_audit (
    recon_id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id          text        NOT NULL,
    job_name        text,
    check_name      text        NOT NULL,
    check_kind      text        NOT NULL DEFAULT 'count',
    worker_id       text,
    expected_value  numeric,
    actual_value    numeric,
    expected_text   text,
    actual_text     text,
    passed          char(1)     NOT NULL CHECK (passed IN ('Y', 'N')),
    discrepancy     numeric,
    tolerance       numeric,
    message         text,
    check_ts        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS recon_audit_run_check_idx
    ON recon.recon_audit (run_id, check_name);
COMMENT ON TABLE recon.recon_audit IS
    'Verdict of each reconciliation check in a batch run; worker_id is NULL on total rows.';
COMMENT ON COLUMN recon.recon_audit.expected_text IS
    'Non-numeric expectation, e.g. a content hash; actual_text holds the observed one.';

CREATE TABLE IF NOT EXISTS recon.batch_worker_metrics (
    run_id             text        NOT NULL,
    job_name           text,
    worker_id          text        NOT NULL,
    records_read       bigint,
    records_processed  bigint,
    records_written    bigint,
    records_rejected   bigint,
    started_at         timestamptz,
    finished_at        timestamptz,
    PRIMARY KEY (run_id, worker_id)
);
COMMENT ON TABLE recon.batch_worker_metrics IS
    'Record counts reported by each worker of a batch run, summed for the count checks.';
