-- Subscriber jobs (migration, bulk delete, audit, export) run as Airflow DAG runs; this is their
-- job table, kept in step with the run (tasks open it and record counts, a listener ends it),
-- plus what keeps dual provisioning honest: the write intents of chunks in flight and the
-- subscribers left out of sync when a compensation failed. No subscriber data (no MSISDN, IMSI,
-- e-mail) is stored here: uids only.
CREATE SCHEMA IF NOT EXISTS recon;

CREATE TABLE IF NOT EXISTS recon.subscriber_job (
    job_id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    job_type          text        NOT NULL CHECK (job_type IN ('MIGRATION', 'BULK_DELETE', 'AUDIT', 'EXPORT')),
    job_status        text        NOT NULL
                      CHECK (job_status IN ('PENDING', 'QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED')),
    dag_id            text        NOT NULL,
    run_id            text        NOT NULL,
    mode              text        CHECK (mode IN ('CLOUD', 'LEGACY', 'DUAL_PROV')),
    input_file_key    text,
    output_file_key   text,
    rejects_file_key  text,
    output_url        text,
    processed_records bigint      NOT NULL DEFAULT 0,
    success_records   bigint      NOT NULL DEFAULT 0,
    failed_records    bigint      NOT NULL DEFAULT 0,
    filters           jsonb       NOT NULL DEFAULT '{}'::jsonb,
    details           jsonb       NOT NULL DEFAULT '{}'::jsonb,
    error             text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    finished_at       timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (dag_id, run_id)
);
COMMENT ON TABLE recon.subscriber_job IS
    'One row per subscriber job = one Airflow DAG run (dag_id, run_id); status follows the run.';
CREATE INDEX IF NOT EXISTS subscriber_job_status ON recon.subscriber_job (job_status, created_at);
CREATE INDEX IF NOT EXISTS subscriber_job_type ON recon.subscriber_job (job_type, created_at);

-- Per chunk (mapped task) counts, replaced by a retry of the chunk; the job's counts are their sum.
CREATE TABLE IF NOT EXISTS recon.subscriber_job_chunk (
    job_id     uuid        NOT NULL REFERENCES recon.subscriber_job (job_id) ON DELETE CASCADE,
    chunk      text        NOT NULL,
    processed  bigint      NOT NULL,
    succeeded  bigint      NOT NULL,
    failed     bigint      NOT NULL,
    inserted   bigint      NOT NULL DEFAULT 0,
    updated    bigint      NOT NULL DEFAULT 0,
    deleted    bigint      NOT NULL DEFAULT 0,
    unchanged  bigint      NOT NULL DEFAULT 0,
    compensated bigint     NOT NULL DEFAULT 0,
    out_of_sync bigint     NOT NULL DEFAULT 0,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, chunk)
);

-- A dual write in flight: written before the first side, removed once both sides agree (or the
-- record was undone). One left behind means the writer stopped half-way (killed, cancelled):
-- the resync step checks each of its uids.
CREATE TABLE IF NOT EXISTS recon.subscriber_write_intent (
    job_id     uuid        NOT NULL REFERENCES recon.subscriber_job (job_id) ON DELETE CASCADE,
    chunk      text        NOT NULL,
    uids       text[]      NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, chunk)
);

CREATE TABLE IF NOT EXISTS recon.subscriber_sync_issue (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id      uuid        NOT NULL REFERENCES recon.subscriber_job (job_id) ON DELETE CASCADE,
    uid         text        NOT NULL,
    reason      text        NOT NULL,
    status      text        NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'RESOLVED')),
    attempts    integer     NOT NULL DEFAULT 0,
    last_error  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    UNIQUE (job_id, uid)
);
COMMENT ON TABLE recon.subscriber_sync_issue IS
    'Subscribers a dual write left different in Cloud and Legacy (compensation failed or writer stopped); retried until resolved.';
CREATE INDEX IF NOT EXISTS subscriber_sync_issue_open ON recon.subscriber_sync_issue (status) WHERE status = 'OPEN';
