-- Run log and cohort membership for the whole migration.
-- Every recon job records its start and outcome in "Migration".log_table (triggers and sensors
-- poll it), and reads which subscribers belong to a cohort, and whether they can be migrated,
-- from "Migration".control_table.

CREATE SCHEMA IF NOT EXISTS "Migration";

CREATE TABLE IF NOT EXISTS "Migration".log_table (
    log_id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id        text        NOT NULL,
    env           text        NOT NULL,
    cohort_id     text,
    prefix_id     text,
    prefix        text,
    batch_id      text,
    msisdn_start  text,
    msisdn_end    text,
    process_name  text        NOT NULL,
    entity_name   text        NOT NULL,
    status        text        NOT NULL
                  CONSTRAINT log_table_status_check
                  CHECK (status IN ('In Progress', 'Passed', 'Failed')),
    error         text,
    start_time    timestamptz NOT NULL DEFAULT now(),
    end_time      timestamptz,
    scope_key     text        NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS log_table_run_id_uidx
    ON "Migration".log_table (run_id);
CREATE INDEX IF NOT EXISTS log_table_process_entity_status_idx
    ON "Migration".log_table (process_name, entity_name, status);
COMMENT ON TABLE "Migration".log_table IS
    'One row per recon job run: scope, what ran, its outcome and timings.';

CREATE TABLE IF NOT EXISTS "Migration".control_table (
    msisdn                 text        NOT NULL,
    imsi                   text,
    cohort_id              text        NOT NULL,
    prefix_id              text,
    prefix                 text,
    batch_id               text,
    source_system          text,
    subscriber_status      text,
    is_cohort              boolean     NOT NULL DEFAULT true,
    non_migratable_reason  text,
    loaded_at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cohort_id, msisdn)
);
CREATE INDEX IF NOT EXISTS control_table_cohort_prefix_msisdn_idx
    ON "Migration".control_table (cohort_id, prefix, msisdn);
COMMENT ON TABLE "Migration".control_table IS
    'Subscribers assigned to each cohort; is_cohort = false marks one that cannot be migrated.';
COMMENT ON COLUMN "Migration".control_table.is_cohort IS
    'Migratability flag: true = migrate, false = excluded (see non_migratable_reason).';
