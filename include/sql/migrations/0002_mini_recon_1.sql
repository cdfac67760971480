-- Mini Recon 1: gate between the Source layer (landed files) and the Transformation layer.
-- Holds the per-batch status ledger that triggers the prefix summary, one result table per
-- measure checked, and the prefix-level rollup. Result tables carry the run scope so a rerun
-- deletes and rewrites only its own rows.

CREATE SCHEMA IF NOT EXISTS mini_recon_1;

CREATE TABLE IF NOT EXISTS mini_recon_1.recon_status (
    id                     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id                 text,
    env                    text        NOT NULL,
    cohort_id              text        NOT NULL,
    prefix_id              text,
    prefix                 text,
    batch_id               text,
    msisdn_start           text,
    msisdn_end             text,
    recon_number           text        NOT NULL DEFAULT 'recon_01',
    active_status          text        CHECK (active_status IN ('Passed', 'Failed')),
    inflight_status        text        CHECK (inflight_status IN ('Passed', 'Failed')),
    injected_status        text        CHECK (injected_status IN ('Passed', 'Failed')),
    inventory_status       text        CHECK (inventory_status IN ('Passed', 'Failed')),
    brm_status             text        CHECK (brm_status IN ('Passed', 'Failed')),
    prefix_summary_status  text        CHECK (prefix_summary_status IN ('Started', 'Passed', 'Failed')),
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT recon_status_batch_key
        UNIQUE NULLS NOT DISTINCT (recon_number, cohort_id, prefix, batch_id)
);
COMMENT ON TABLE mini_recon_1.recon_status IS
    'Per-batch outcome of each source ledger check, plus the state of the prefix summary.';

CREATE TABLE IF NOT EXISTS mini_recon_1.tbl_addon_count (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id                     text NOT NULL,
    env                        text NOT NULL,
    cohort_id                  text NOT NULL,
    prefix_id                  text,
    prefix                     text,
    batch_id                   text,
    msisdn_start               text,
    msisdn_end                 text,
    subset                     text NOT NULL,
    source_system              text,
    src_count                  bigint,
    trgt_count                 bigint,
    difference                 bigint,
    status                     text CHECK (status IN ('Passed', 'Failed')),
    created_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tbl_addon_count_scope_idx
    ON mini_recon_1.tbl_addon_count (cohort_id, prefix, batch_id);
COMMENT ON TABLE mini_recon_1.tbl_addon_count IS
    'Source vs transformed counts of subscribers per add-on, per batch.';

CREATE TABLE IF NOT EXISTS mini_recon_1.tbl_migratable_msisdn_count (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id                     text NOT NULL,
    env                        text NOT NULL,
    cohort_id                  text NOT NULL,
    prefix_id                  text,
    prefix                     text,
    batch_id                   text,
    msisdn_start               text,
    msisdn_end                 text,
    subset                     text NOT NULL,
    source_system              text,
    source_system_count        bigint,
    target_transform_count     bigint,
    difference                 bigint,
    status                     text CHECK (status IN ('Passed', 'Failed')),
    created_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tbl_migratable_msisdn_count_scope_idx
    ON mini_recon_1.tbl_migratable_msisdn_count (cohort_id, prefix, batch_id);
COMMENT ON TABLE mini_recon_1.tbl_migratable_msisdn_count IS
    'Migratable MSISDNs per source system: landed files vs transformation output.';

CREATE TABLE IF NOT EXISTS mini_recon_1.tbl_migratable_subscriber_status (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id                     text NOT NULL,
    env                        text NOT NULL,
    cohort_id                  text NOT NULL,
    prefix_id                  text,
    prefix                     text,
    batch_id                   text,
    msisdn_start               text,
    msisdn_end                 text,
    subset                     text NOT NULL,
    source_system              text,
    subscriber_status          text,
    src_count                  bigint,
    trgt_count                 bigint,
    non_migratable_count       bigint,
    difference                 bigint,
    status                     text CHECK (status IN ('Passed', 'Failed')),
    created_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tbl_migratable_subscriber_status_scope_idx
    ON mini_recon_1.tbl_migratable_subscriber_status (cohort_id, prefix, batch_id);
COMMENT ON TABLE mini_recon_1.tbl_migratable_subscriber_status IS
    'Subscriber counts per lifecycle status, with the non-migratable share, source vs transformed.';

CREATE TABLE IF NOT EXISTS mini_recon_1.tbl_msisdn_prefix_count (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id                     text NOT NULL,
    env                        text NOT NULL,
    cohort_id                  text NOT NULL,
    prefix_id                  text,
    prefix                     text,
    batch_id                   text,
    msisdn_start               text,
    msisdn_end                 text,
    subset                     text NOT NULL,
    source_system              text,
    msisdn_prefix              text,
    src_count                  bigint,
    trgt_count                 bigint,
    difference                 bigint,
    status                     text CHECK (status IN ('Passed', 'Failed')),
    created_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tbl_msisdn_prefix_count_scope_idx
    ON mini_recon_1.tbl_msisdn_prefix_count (cohort_id, prefix, batch_id);
COMMENT ON TABLE mini_recon_1.tbl_msisdn_prefix_count IS
    'MSISDN counts per number prefix, source vs transformed.';

CREATE TABLE IF NOT EXISTS mini_recon_1.tbl_non_migratable_count (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id                     text NOT NULL,
    env                        text NOT NULL,
    cohort_id                  text NOT NULL,
    prefix_id                  text,
    prefix                     text,
    batch_id                   text,
    msisdn_start               text,
    msisdn_end                 text,
    subset                     text NOT NULL,
    source_system              text,
    non_migratable_reason      text,
    non_migratable_count       bigint,
    src_count                  bigint,
    trgt_count                 bigint,
    difference                 bigint,
    status                     text CHECK (status IN ('Passed', 'Failed')),
    created_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tbl_non_migratable_count_scope_idx
    ON mini_recon_1.tbl_non_migratable_count (cohort_id, prefix, batch_id);
COMMENT ON TABLE mini_recon_1.tbl_non_migratable_count IS
    'Subscribers excluded from migration, by reason, source vs transformed.';

CREATE TABLE IF NOT EXISTS mini_recon_1.tbl_payment_count (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id                     text NOT NULL,
    env                        text NOT NULL,
    cohort_id                  text NOT NULL,
    prefix_id                  text,
    prefix                     text,
    batch_id                   text,
    msisdn_start               text,
    msisdn_end                 text,
    subset                     text NOT NULL,
    source_system              text,
    src_count                  bigint,
    trgt_count                 bigint,
    difference                 bigint,
    status                     text CHECK (status IN ('Passed', 'Failed')),
    created_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tbl_payment_count_scope_idx
    ON mini_recon_1.tbl_payment_count (cohort_id, prefix, batch_id);
COMMENT ON TABLE mini_recon_1.tbl_payment_count IS
    'Payment records per payment type, source vs transformed.';

CREATE TABLE IF NOT EXISTS mini_recon_1.tbl_promotion_count (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id                     text NOT NULL,
    env                        text NOT NULL,
    cohort_id                  text NOT NULL,
    prefix_id                  text,
    prefix                     text,
    batch_id                   text,
    msisdn_start               text,
    msisdn_end                 text,
    subset                     text NOT NULL,
    source_system              text,
    src_count                  bigint,
    trgt_count                 bigint,
    difference                 bigint,
    status                     text CHECK (status IN ('Passed', 'Failed')),
    created_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tbl_promotion_count_scope_idx
    ON mini_recon_1.tbl_promotion_count (cohort_id, prefix, batch_id);
COMMENT ON TABLE mini_recon_1.tbl_promotion_count IS
    'Promotion enrolments per promotion, source vs transformed.';

CREATE TABLE IF NOT EXISTS mini_recon_1.tbl_ucoin_balance_count (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id                     text NOT NULL,
    env                        text NOT NULL,
    cohort_id                  text NOT NULL,
    prefix_id                  text,
    prefix                     text,
    batch_id                   text,
    msisdn_start               text,
    msisdn_end                 text,
    subset                     text NOT NULL,
    source_system              text,
    src_count                  bigint,
    trgt_count                 bigint,
    difference                 bigint,
    src_balance                numeric(20,4),
    trgt_balance               numeric(20,4),
    status                     text CHECK (status IN ('Passed', 'Failed')),
    created_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tbl_ucoin_balance_count_scope_idx
    ON mini_recon_1.tbl_ucoin_balance_count (cohort_id, prefix, batch_id);
COMMENT ON TABLE mini_recon_1.tbl_ucoin_balance_count IS
    'UCoin wallet holders and total balance, source vs transformed.';

CREATE TABLE IF NOT EXISTS mini_recon_1.tbl_pulsa_balance_sum (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id                     text NOT NULL,
    env                        text NOT NULL,
    cohort_id                  text NOT NULL,
    prefix_id                  text,
    prefix                     text,
    batch_id                   text,
    msisdn_start               text,
    msisdn_end                 text,
    subset                     text NOT NULL,
    source_system              text,
    src_sum                    numeric(20,4),
    trgt_sum                   numeric(20,4),
    difference                 numeric(20,4),
    status                     text CHECK (status IN ('Passed', 'Failed')),
    created_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tbl_pulsa_balance_sum_scope_idx
    ON mini_recon_1.tbl_pulsa_balance_sum (cohort_id, prefix, batch_id);
COMMENT ON TABLE mini_recon_1.tbl_pulsa_balance_sum IS
    'Total pulsa (airtime credit) balance, source vs transformed.';

CREATE TABLE IF NOT EXISTS mini_recon_1.tbl_user_app_login_count (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id                     text NOT NULL,
    env                        text NOT NULL,
    cohort_id                  text NOT NULL,
    prefix_id                  text,
    prefix                     text,
    batch_id                   text,
    msisdn_start               text,
    msisdn_end                 text,
    subset                     text NOT NULL,
    source_system              text,
    src_count                  bigint,
    trgt_count                 bigint,
    difference                 bigint,
    status                     text CHECK (status IN ('Passed', 'Failed')),
    created_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tbl_user_app_login_count_scope_idx
    ON mini_recon_1.tbl_user_app_login_count (cohort_id, prefix, batch_id);
COMMENT ON TABLE mini_recon_1.tbl_user_app_login_count IS
    'Users eligible for app login, source vs transformed.';

CREATE TABLE IF NOT EXISTS mini_recon_1.tbl_report_voucher_open_loyalty (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id                     text NOT NULL,
    env                        text NOT NULL,
    cohort_id                  text NOT NULL,
    prefix_id                  text,
    prefix                     text,
    batch_id                   text,
    msisdn_start               text,
    msisdn_end                 text,
    subset                     text NOT NULL,
    source_system              text,
    src_count                  bigint,
    trgt_count                 bigint,
    difference                 bigint,
    status                     text CHECK (status IN ('Passed', 'Failed')),
    created_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tbl_report_voucher_open_loyalty_scope_idx
    ON mini_recon_1.tbl_report_voucher_open_loyalty (cohort_id, prefix, batch_id);
COMMENT ON TABLE mini_recon_1.tbl_report_voucher_open_loyalty IS
    'Open loyalty vouchers, source vs transformed.';

CREATE TABLE IF NOT EXISTS mini_recon_1.tbl_recon_report_prefix_summary (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id                     text NOT NULL,
    env                        text NOT NULL,
    cohort_id                  text NOT NULL,
    prefix_id                  text,
    prefix                     text,
    batch_id                   text,
    msisdn_start               text,
    msisdn_end                 text,
    subscriber_status          text,
    src_count                  bigint,
    non_migratable_count       bigint,
    trgt_count                 bigint,
    match_percent              numeric(12,2),
    status_match               text CHECK (status_match IN ('Match', 'Mismatch')),
    migratable_count_status    text CHECK (migratable_count_status IN ('Match', 'Mismatch')),
    failed_subsets             text[] NOT NULL DEFAULT '{}',
    created_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tbl_recon_report_prefix_summary_scope_idx
    ON mini_recon_1.tbl_recon_report_prefix_summary (cohort_id, prefix, batch_id);
COMMENT ON TABLE mini_recon_1.tbl_recon_report_prefix_summary IS
    'Prefix-level rollup of the batch results, with match percent and the subsets that failed.';

COMMENT ON COLUMN mini_recon_1.tbl_recon_report_prefix_summary.match_percent IS
    'trgt_count * 100 / (src_count - non_migratable_count), truncated to 2 places; not bounded to 0..100.';
