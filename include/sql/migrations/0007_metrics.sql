-- Daily file-pair reconciliation (an OLD and a NEW extract of the same dataset).
-- metrics.* holds the run log, per-run totals, per-column mismatch counts and a sample of
-- mismatching rows; schema stage receives the raw daily loads and is created empty here.

CREATE SCHEMA IF NOT EXISTS stage;
CREATE SCHEMA IF NOT EXISTS metrics;

CREATE TABLE IF NOT EXISTS metrics.pipeline_run_log (
    run_id            text        PRIMARY KEY,
    dataset           text        NOT NULL,
    run_date          date        NOT NULL,
    run_ts            timestamptz NOT NULL DEFAULT now(),
    status            text        NOT NULL
                      CHECK (status IN ('RUNNING', 'SUCCESS', 'FAILED', 'NO_FILES',
                                        'INVALID_FILE_COUNT', 'INVALID_FILE')),
    old_file          text,
    new_file          text,
    inbound_prefix    text,
    processed_prefix  text,
    output_prefix     text,
    error_message     text,
    finished_ts       timestamptz
);
CREATE INDEX IF NOT EXISTS pipeline_run_log_dataset_date_idx
    ON metrics.pipeline_run_log (dataset, run_date);
COMMENT ON TABLE metrics.pipeline_run_log IS
    'One row per daily run: input files, storage prefixes, outcome and error.';

CREATE TABLE IF NOT EXISTS metrics.recon_summary (
    run_id              text        PRIMARY KEY
                        REFERENCES metrics.pipeline_run_log (run_id) ON DELETE CASCADE,
    dataset             text        NOT NULL,
    run_date            date        NOT NULL,
    key_columns         text[]      NOT NULL DEFAULT '{}',
    old_rows            bigint,
    new_rows            bigint,
    matched_keys        bigint,
    missing_in_new      bigint,
    extra_in_new        bigint,
    changed_rows        bigint,
    duplicate_keys_old  bigint,
    duplicate_keys_new  bigint,
    created_ts          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS recon_summary_run_date_idx
    ON metrics.recon_summary (run_date);
COMMENT ON TABLE metrics.recon_summary IS
    'Per-run totals of the OLD vs NEW keyed comparison.';

CREATE TABLE IF NOT EXISTS metrics.mismatch_by_column (
    run_id          text    NOT NULL
                    REFERENCES metrics.pipeline_run_log (run_id) ON DELETE CASCADE,
    run_date        date    NOT NULL,
    column_name     text    NOT NULL,
    mismatch_count  bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, column_name)
);
COMMENT ON TABLE metrics.mismatch_by_column IS
    'How many matched keys differ in each compared column, per run.';

CREATE TABLE IF NOT EXISTS metrics.mismatch_detail_sample (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id      text        NOT NULL
                REFERENCES metrics.pipeline_run_log (run_id) ON DELETE CASCADE,
    run_date    date        NOT NULL,
    key_text    text        NOT NULL,
    payload     jsonb       NOT NULL,
    created_ts  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS mismatch_detail_sample_run_date_idx
    ON metrics.mismatch_detail_sample (run_date);
CREATE INDEX IF NOT EXISTS mismatch_detail_sample_run_id_idx
    ON metrics.mismatch_detail_sample (run_id);
COMMENT ON TABLE metrics.mismatch_detail_sample IS
    'Capped sample of mismatching rows; payload maps column name to "old~new" values (masked).';
