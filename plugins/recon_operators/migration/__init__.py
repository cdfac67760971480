"""Mini Recon formula layer: SQL files in include/sql, run on a connection the caller owns."""

from recon_operators.migration.formulas import (
    EXTERNAL_OPERATOR_KEY,
    SSO_KEY,
    SSO_PROVIDERS,
    Mr2Written,
    SubsetCount,
    app_login_eligible_mongo,
    app_login_eligible_sql,
    write_mr2_subset_status,
    write_prefix_summary,
)

__all__ = [
    "EXTERNAL_OPERATOR_KEY",
    "SSO_KEY",
    "SSO_PROVIDERS",
    "Mr2Written",
    "SubsetCount",
    "app_login_eligible_mongo",
    "app_login_eligible_sql",
    "write_mr2_subset_status",
    "write_prefix_summary",
]
