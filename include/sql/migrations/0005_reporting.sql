-- End-of-pipeline reporting, written after Mini Recon 3: the Source-to-Target overall summary,
-- the per-table ETL stage report across Transform, Stage and Target, and the reference matrix
-- of which service tables that report covers.

CREATE SCHEMA IF NOT EXISTS recon_report;

CREATE TABLE IF NOT EXISTS recon_report.tbl_recon_report_overall_summary (
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
    subset                     text,
    source_count               bigint,
    transform_count            bigint,
    stage_count                bigint,
    target_count               bigint,
    source_target_difference   bigint,
    status_match               text CHECK (status_match IN ('Match', 'Mismatch')),
    created_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tbl_recon_report_overall_summary_scope_idx
    ON recon_report.tbl_recon_report_overall_summary (cohort_id, prefix, batch_id);
COMMENT ON TABLE recon_report.tbl_recon_report_overall_summary IS
    'Counts per service and subset at every layer, with the Source-to-Target verdict.';

CREATE TABLE IF NOT EXISTS recon_report.tbl_recon_etl_stage_report (
    id                         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id                     text NOT NULL,
    env                        text NOT NULL,
    cohort_id                  text NOT NULL,
    prefix_id                  text,
    prefix                     text,
    batch_id                   text,
    msisdn_start               text,
    msisdn_end                 text,
    layer_pair                 text,
    service                    text NOT NULL,
    table_name                 text NOT NULL,
    transform_count            bigint,
    stage_count                bigint,
    target_count               bigint,
    transform_stage_difference bigint,
    stage_target_difference    bigint,
    status                     text CHECK (status IN ('Match', 'Mismatch')),
    created_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tbl_recon_etl_stage_report_scope_idx
    ON recon_report.tbl_recon_etl_stage_report (cohort_id, prefix, batch_id);
COMMENT ON TABLE recon_report.tbl_recon_etl_stage_report IS
    'Row counts per service table at Transform, Stage and Target, with the differences between hops.';

CREATE TABLE IF NOT EXISTS recon_report.etl_stage_table_matrix (
    service          text NOT NULL,
    table_name       text NOT NULL,
    transform_table  text,
    stage_store      text,
    stage_table      text,
    target_table     text,
    PRIMARY KEY (service, table_name)
);
COMMENT ON TABLE recon_report.etl_stage_table_matrix IS
    'Service tables covered by the ETL stage report, and where each lives per layer.';
COMMENT ON COLUMN recon_report.etl_stage_table_matrix.stage_store IS
    'Where the stage copy lives: mariadb, mongodb or postgres.';

-- Transform-layer tables; stage and target locations are filled in per deployment.
INSERT INTO recon_report.etl_stage_table_matrix (service, table_name)
VALUES
    ('User', 'users'),
    ('User', 'telco_accounts'),
    ('User', 'user_preferences'),
    ('Telco', 'service_account'),
    ('KYC', 'kyc_application'),
    ('OMS', 'orders'),
    ('OMS', 'order_user_details'),
    ('OMS', 'order_billing_details'),
    ('OMS', 'order_initial_shipping_details'),
    ('OMS', 'order_substate'),
    ('OMS', 'order_item'),
    ('OMS', 'order_item_properties'),
    ('Subscription', 'subscription_order'),
    ('Subscription', 'user_subscription'),
    ('Subscription', 'user_subscription_product'),
    ('Subscription', 'fulfillment'),
    ('Subscription', 'product_fulfilment_status'),
    ('Payment', 'profile'),
    ('Payment', 'transactions'),
    ('Payment', 'instruments'),
    ('Promotion', 'reward'),
    ('Promotion', 'reward_incentive'),
    ('Promotion', 'reward_redeem_criteria'),
    ('Inventory', 'unit'),
    ('Inventory', 'unit_property'),
    ('Wallet', 'wallets'),
    ('Wallet', 'ledger'),
    ('Logistics Connector', 'transaction'),
    ('Logistics', 'shipments'),
    ('Logistics', 'shipment_items'),
    ('Logistics', 'slots'),
    ('Logistics', 'pickup_location')
ON CONFLICT (service, table_name) DO NOTHING;
