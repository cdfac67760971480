-- Mini Recon 3: gate between the Stage layer and the Target services' databases.
-- Data-prep tables hold per-table (and per BRM billing file) comparisons; the prefix summaries
-- roll them up into the verdict for a prefix.

CREATE SCHEMA IF NOT EXISTS mini_recon_3;

CREATE TABLE IF NOT EXISTS mini_recon_3.tbl_data_prep (
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
    table_name                 text,
    stage_store                text,
    stage_count                bigint,
    target_count               bigint,
    difference                 bigint,
    status                     text CHECK (status IN ('Passed', 'Failed')),
    created_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tbl_data_prep_scope_idx
    ON mini_recon_3.tbl_data_prep (cohort_id, prefix, batch_id);
COMMENT ON TABLE mini_recon_3.tbl_data_prep IS
    'Row counts per service table, stage store vs target database.';

COMMENT ON COLUMN mini_recon_3.tbl_data_prep.stage_store IS
    'Where the stage copy lives: mariadb, mongodb or postgres.';

CREATE TABLE IF NOT EXISTS mini_recon_3.tbl_data_prep_brm (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id                     text NOT NULL,
    env                        text NOT NULL,
    cohort_id                  text NOT NULL,
    prefix_id                  text,
    prefix                     text,
    batch_id                   text,
    msisdn_start               text,
    msisdn_end                 text,
    brm_file                   text,
    brm_count                  bigint,
    target_count               bigint,
    brm_balance_sum            numeric(20,4),
    target_balance_sum         numeric(20,4),
    difference                 bigint,
    status                     text CHECK (status IN ('Passed', 'Failed')),
    created_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tbl_data_prep_brm_scope_idx
    ON mini_recon_3.tbl_data_prep_brm (cohort_id, prefix, batch_id);
COMMENT ON TABLE mini_recon_3.tbl_data_prep_brm IS
    'Accounts and balance totals per BRM billing file vs the target database.';

CREATE TABLE IF NOT EXISTS mini_recon_3.tbl_prefix_summary (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id                     text NOT NULL,
    env                        text NOT NULL,
    cohort_id                  text NOT NULL,
    prefix_id                  text,
    prefix                     text,
    batch_id                   text,
    msisdn_start               text,
    msisdn_end                 text,
    total_checks               integer,
    failed_checks              integer,
    match_percent              numeric(7,2),
    status_match               text CHECK (status_match IN ('Match', 'Mismatch')),
    failed_subsets             text[] NOT NULL DEFAULT '{}',
    created_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tbl_prefix_summary_scope_idx
    ON mini_recon_3.tbl_prefix_summary (cohort_id, prefix, batch_id);
COMMENT ON TABLE mini_recon_3.tbl_prefix_summary IS
    'Prefix-level rollup of the Mini Recon 3 data-prep checks.';

CREATE TABLE IF NOT EXISTS mini_recon_3.tbl_prefix_summary_brm (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id                     text NOT NULL,
    env                        text NOT NULL,
    cohort_id                  text NOT NULL,
    prefix_id                  text,
    prefix                     text,
    batch_id                   text,
    msisdn_start               text,
    msisdn_end                 text,
    total_checks               integer,
    failed_checks              integer,
    match_percent              numeric(7,2),
    status_match               text CHECK (status_match IN ('Match', 'Mismatch')),
    failed_subsets             text[] NOT NULL DEFAULT '{}',
    created_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tbl_prefix_summary_brm_scope_idx
    ON mini_recon_3.tbl_prefix_summary_brm (cohort_id, prefix, batch_id);
COMMENT ON TABLE mini_recon_3.tbl_prefix_summary_brm IS
    'Prefix-level rollup of the Mini Recon 3 BRM file checks.';
