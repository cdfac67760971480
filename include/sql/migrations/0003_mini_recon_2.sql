-- Mini Recon 2: gate between the Transformation layer (Postgres) and the Stage layer
-- (MariaDB, MongoDB). One table per validation category, each row a (service, subset) count
-- comparison, plus a per-service summary the stage gate reads.

CREATE SCHEMA IF NOT EXISTS mini_recon_2;

CREATE TABLE IF NOT EXISTS mini_recon_2.tbl_transformed_msisdn (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id                     text NOT NULL,
    env                        text NOT NULL,
    cohort_id                  text NOT NULL,
    prefix_id                  text,
    prefix                     text,
    batch_id                   text,
    msisdn_start               text,
    msisdn_end                 text,
    service                    text NOT NULL,
    subset                     text NOT NULL,
    transform_count            bigint,
    stage_count                bigint,
    difference                 bigint,
    subset_status              text CHECK (subset_status IN ('Passed', 'Failed')),
    created_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tbl_transformed_msisdn_scope_idx
    ON mini_recon_2.tbl_transformed_msisdn (cohort_id, prefix, batch_id);
COMMENT ON TABLE mini_recon_2.tbl_transformed_msisdn IS
    'Distinct MSISDNs per service, transformation vs stage.';

CREATE TABLE IF NOT EXISTS mini_recon_2.tbl_status_comparison (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id                     text NOT NULL,
    env                        text NOT NULL,
    cohort_id                  text NOT NULL,
    prefix_id                  text,
    prefix                     text,
    batch_id                   text,
    msisdn_start               text,
    msisdn_end                 text,
    service                    text NOT NULL,
    subset                     text NOT NULL,
    transform_count            bigint,
    stage_count                bigint,
    difference                 bigint,
    subset_status              text CHECK (subset_status IN ('Passed', 'Failed')),
    created_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tbl_status_comparison_scope_idx
    ON mini_recon_2.tbl_status_comparison (cohort_id, prefix, batch_id);
COMMENT ON TABLE mini_recon_2.tbl_status_comparison IS
    'Subscriber counts per status, transformation vs stage.';

CREATE TABLE IF NOT EXISTS mini_recon_2.tbl_plan_validation (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id                     text NOT NULL,
    env                        text NOT NULL,
    cohort_id                  text NOT NULL,
    prefix_id                  text,
    prefix                     text,
    batch_id                   text,
    msisdn_start               text,
    msisdn_end                 text,
    service                    text NOT NULL,
    subset                     text NOT NULL,
    transform_count            bigint,
    stage_count                bigint,
    difference                 bigint,
    subset_status              text CHECK (subset_status IN ('Passed', 'Failed')),
    created_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tbl_plan_validation_scope_idx
    ON mini_recon_2.tbl_plan_validation (cohort_id, prefix, batch_id);
COMMENT ON TABLE mini_recon_2.tbl_plan_validation IS
    'Subscriber counts per plan, transformation vs stage.';

CREATE TABLE IF NOT EXISTS mini_recon_2.tbl_app_login (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id                     text NOT NULL,
    env                        text NOT NULL,
    cohort_id                  text NOT NULL,
    prefix_id                  text,
    prefix                     text,
    batch_id                   text,
    msisdn_start               text,
    msisdn_end                 text,
    service                    text NOT NULL,
    subset                     text NOT NULL,
    transform_count            bigint,
    stage_count                bigint,
    difference                 bigint,
    subset_status              text CHECK (subset_status IN ('Passed', 'Failed')),
    created_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tbl_app_login_scope_idx
    ON mini_recon_2.tbl_app_login (cohort_id, prefix, batch_id);
COMMENT ON TABLE mini_recon_2.tbl_app_login IS
    'App-login eligible users, transformation vs stage.';

CREATE TABLE IF NOT EXISTS mini_recon_2.tbl_addon_validation (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id                     text NOT NULL,
    env                        text NOT NULL,
    cohort_id                  text NOT NULL,
    prefix_id                  text,
    prefix                     text,
    batch_id                   text,
    msisdn_start               text,
    msisdn_end                 text,
    service                    text NOT NULL,
    subset                     text NOT NULL,
    transform_count            bigint,
    stage_count                bigint,
    difference                 bigint,
    subset_status              text CHECK (subset_status IN ('Passed', 'Failed')),
    created_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tbl_addon_validation_scope_idx
    ON mini_recon_2.tbl_addon_validation (cohort_id, prefix, batch_id);
COMMENT ON TABLE mini_recon_2.tbl_addon_validation IS
    'Add-on subscriptions per add-on, transformation vs stage.';

CREATE TABLE IF NOT EXISTS mini_recon_2.tbl_pulsa_balance (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id                     text NOT NULL,
    env                        text NOT NULL,
    cohort_id                  text NOT NULL,
    prefix_id                  text,
    prefix                     text,
    batch_id                   text,
    msisdn_start               text,
    msisdn_end                 text,
    service                    text NOT NULL,
    subset                     text NOT NULL,
    transform_count            bigint,
    stage_count                bigint,
    difference                 bigint,
    transform_sum              numeric(20,4),
    stage_sum                  numeric(20,4),
    subset_status              text CHECK (subset_status IN ('Passed', 'Failed')),
    created_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tbl_pulsa_balance_scope_idx
    ON mini_recon_2.tbl_pulsa_balance (cohort_id, prefix, batch_id);
COMMENT ON TABLE mini_recon_2.tbl_pulsa_balance IS
    'Pulsa balance holders and balance totals, transformation vs stage.';

CREATE TABLE IF NOT EXISTS mini_recon_2.tbl_subscriber_promotion (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id                     text NOT NULL,
    env                        text NOT NULL,
    cohort_id                  text NOT NULL,
    prefix_id                  text,
    prefix                     text,
    batch_id                   text,
    msisdn_start               text,
    msisdn_end                 text,
    service                    text NOT NULL,
    subset                     text NOT NULL,
    transform_count            bigint,
    stage_count                bigint,
    difference                 bigint,
    subset_status              text CHECK (subset_status IN ('Passed', 'Failed')),
    created_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tbl_subscriber_promotion_scope_idx
    ON mini_recon_2.tbl_subscriber_promotion (cohort_id, prefix, batch_id);
COMMENT ON TABLE mini_recon_2.tbl_subscriber_promotion IS
    'Promotion enrolments per promotion, transformation vs stage.';

CREATE TABLE IF NOT EXISTS mini_recon_2.tbl_payment_sub_count (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id                     text NOT NULL,
    env                        text NOT NULL,
    cohort_id                  text NOT NULL,
    prefix_id                  text,
    prefix                     text,
    batch_id                   text,
    msisdn_start               text,
    msisdn_end                 text,
    service                    text NOT NULL,
    subset                     text NOT NULL,
    transform_count            bigint,
    stage_count                bigint,
    difference                 bigint,
    subset_status              text CHECK (subset_status IN ('Passed', 'Failed')),
    created_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tbl_payment_sub_count_scope_idx
    ON mini_recon_2.tbl_payment_sub_count (cohort_id, prefix, batch_id);
COMMENT ON TABLE mini_recon_2.tbl_payment_sub_count IS
    'Payment subscriptions per payment type, transformation vs stage.';

CREATE TABLE IF NOT EXISTS mini_recon_2.tbl_recon_2_summary (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id                     text NOT NULL,
    env                        text NOT NULL,
    cohort_id                  text NOT NULL,
    prefix_id                  text,
    prefix                     text,
    batch_id                   text,
    msisdn_start               text,
    msisdn_end                 text,
    service                    text,
    total_subsets              integer,
    failed_subsets             integer,
    status                     text CHECK (status IN ('Passed', 'Failed')),
    created_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tbl_recon_2_summary_scope_idx
    ON mini_recon_2.tbl_recon_2_summary (cohort_id, prefix, batch_id);
COMMENT ON TABLE mini_recon_2.tbl_recon_2_summary IS
    'Per-service rollup of the Mini Recon 2 subsets for one batch.';
