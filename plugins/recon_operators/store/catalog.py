"""The tables the results store must hold: the reference spec's tables plus the gate ledger.

Used by ``recon db status``, the store maintenance DAG and the tests, so a deployment that
lost a table (or a migration that forgot one) is caught by name.
"""

from __future__ import annotations

from typing import Any

from recon_operators.store.db import transaction

MINI_RECON_1_REPORTS = (
    "tbl_addon_count",
    "tbl_migratable_msisdn_count",
    "tbl_migratable_subscriber_status",
    "tbl_msisdn_prefix_count",
    "tbl_non_migratable_count",
    "tbl_payment_count",
    "tbl_promotion_count",
    "tbl_ucoin_balance_count",
    "tbl_pulsa_balance_sum",
    "tbl_user_app_login_count",
    "tbl_report_voucher_open_loyalty",
)
MINI_RECON_2_TABLES = (
    "tbl_transformed_msisdn",
    "tbl_status_comparison",
    "tbl_plan_validation",
    "tbl_app_login",
    "tbl_addon_validation",
    "tbl_pulsa_balance",
    "tbl_subscriber_promotion",
    "tbl_payment_sub_count",
)

REQUIRED_TABLES: tuple[tuple[str, str], ...] = (
    ("Migration", "log_table"),
    ("Migration", "control_table"),
    ("mini_recon_1", "recon_status"),
    *(("mini_recon_1", t) for t in MINI_RECON_1_REPORTS),
    ("mini_recon_1", "tbl_recon_report_prefix_summary"),
    *(("mini_recon_2", t) for t in MINI_RECON_2_TABLES),
    ("mini_recon_2", "tbl_recon_2_summary"),
    ("mini_recon_3", "tbl_data_prep"),
    ("mini_recon_3", "tbl_data_prep_brm"),
    ("mini_recon_3", "tbl_prefix_summary"),
    ("mini_recon_3", "tbl_prefix_summary_brm"),
    ("recon_report", "tbl_recon_report_overall_summary"),
    ("recon_report", "tbl_recon_etl_stage_report"),
    ("recon_report", "etl_stage_table_matrix"),
    ("recon", "recon_audit"),
    ("recon", "batch_worker_metrics"),
    ("recon", "check_result"),
    ("recon", "check_result_history"),
    ("recon", "gate_decision"),
    ("recon", "schema_migrations"),
    ("recon", "subscriber_job"),
    ("recon", "subscriber_job_chunk"),
    ("recon", "subscriber_write_intent"),
    ("recon", "subscriber_sync_issue"),
    ("metrics", "pipeline_run_log"),
    ("metrics", "recon_summary"),
    ("metrics", "mismatch_by_column"),
    ("metrics", "mismatch_detail_sample"),
)


def qualified(schema: str, table: str) -> str:
    return f'"{schema}".{table}' if schema != schema.lower() else f"{schema}.{table}"


def missing_tables(conn: Any) -> list[str]:
    """Required tables this store lacks, as ``schema.table`` names (empty when complete)."""
    with transaction(conn) as cur:
        cur.execute("SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'")
        present = set(cur.fetchall())
    return [qualified(s, t) for s, t in REQUIRED_TABLES if (s, t) not in present]
