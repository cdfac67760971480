-- The uniform results ledger: every check of every kind lands here with its scope and status,
-- so one gate can judge any stage. Rows replaced by a rerun move to the history table instead
-- of vanishing, which keeps the audit trail whole.
CREATE SCHEMA IF NOT EXISTS recon;

CREATE TABLE IF NOT EXISTS recon.check_result (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id       text        NOT NULL REFERENCES "Migration".log_table (run_id),
    scope_key    text        NOT NULL,
    scope        jsonb       NOT NULL,
    env          text        NOT NULL,
    cohort_id    text,
    prefix_id    text,
    prefix       text,
    batch_id     text,
    stage        text,
    suite        text        NOT NULL,
    check_name   text        NOT NULL,
    kind         text        NOT NULL,
    group_key    text,
    source       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    target       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    expected     text,
    actual       text,
    discrepancy  numeric,
    tolerance    jsonb,
    status       text        NOT NULL CHECK (status IN ('Match', 'Mismatch', 'Error')),
    message      text,
    details      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE recon.check_result IS 'Current verdict of every check per scope; the table gates read.';

-- One row per check (and group) per scope and suite: a rerun replaces, never duplicates.
CREATE UNIQUE INDEX IF NOT EXISTS check_result_identity
    ON recon.check_result (scope_key, suite, check_name, coalesce(group_key, ''));
CREATE INDEX IF NOT EXISTS check_result_scope_gin ON recon.check_result USING gin (scope jsonb_path_ops);
CREATE INDEX IF NOT EXISTS check_result_run ON recon.check_result (run_id);

CREATE TABLE IF NOT EXISTS recon.check_result_history (
    id              bigint      PRIMARY KEY,
    run_id          text        NOT NULL,
    scope_key       text        NOT NULL,
    scope           jsonb       NOT NULL,
    env             text        NOT NULL,
    cohort_id       text,
    prefix_id       text,
    prefix          text,
    batch_id        text,
    stage           text,
    suite           text        NOT NULL,
    check_name      text        NOT NULL,
    kind            text        NOT NULL,
    group_key       text,
    source          jsonb       NOT NULL,
    target          jsonb       NOT NULL,
    expected        text,
    actual          text,
    discrepancy     numeric,
    tolerance       jsonb,
    status          text        NOT NULL,
    message         text,
    details         jsonb       NOT NULL,
    started_at      timestamptz NOT NULL,
    finished_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,
    superseded_at   timestamptz NOT NULL DEFAULT now(),
    superseded_by   text
);
COMMENT ON TABLE recon.check_result_history IS 'Results replaced by a later run of the same scope, kept for audit.';
CREATE INDEX IF NOT EXISTS check_result_history_scope ON recon.check_result_history (scope_key, suite);

CREATE TABLE IF NOT EXISTS recon.gate_decision (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id      text,
    scope_key   text        NOT NULL,
    scope       jsonb       NOT NULL,
    stage       text,
    suite       text,
    policy      text        NOT NULL CHECK (policy IN ('stop', 'approve', 'fail', 'warn')),
    verdict     text        NOT NULL CHECK (verdict IN ('Match', 'Mismatch', 'Error', 'Missing')),
    outcome     text        NOT NULL CHECK (outcome IN ('Passed', 'Blocked', 'Failed', 'Warned',
                                                        'Approved', 'Rejected', 'TimedOut')),
    decided_by  text,
    decided_at  timestamptz NOT NULL DEFAULT now(),
    summary     jsonb       NOT NULL DEFAULT '{}'::jsonb
);
COMMENT ON TABLE recon.gate_decision IS 'What each gate decided for a scope, by whom and when (append-only).';
CREATE INDEX IF NOT EXISTS gate_decision_scope ON recon.gate_decision USING gin (scope jsonb_path_ops);
