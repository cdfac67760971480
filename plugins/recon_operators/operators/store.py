"""Operators that keep the results store deployable: upgrade its schema, verify its tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from recon_operators.hooks.results_store import ResultsStoreHook


class StoreUpgradeOperator(BaseOperator):
    """Apply pending results-store migrations; pushes the applied versions to XCom."""

    template_fields: Sequence[str] = ("store_conn_id",)

    def __init__(self, *, store_conn_id: str = ResultsStoreHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.store_conn_id = store_conn_id

    def execute(self, context: Any) -> list[str]:
        applied = ResultsStoreHook(self.store_conn_id).upgrade()
        names = [f"{m.version:04d}_{m.name}" for m in applied]
        self.log.info("applied %d migration(s): %s", len(names), ", ".join(names) or "none, up to date")
        return names


class StoreVerifyOperator(BaseOperator):
    """Fail (without retry) when a table the gates rely on is missing from the store."""

    template_fields: Sequence[str] = ("store_conn_id",)

    def __init__(self, *, store_conn_id: str = ResultsStoreHook.default_conn_name, **kwargs: Any) -> None:
        kwargs.setdefault("retries", 0)
        super().__init__(**kwargs)
        self.store_conn_id = store_conn_id

    def execute(self, context: Any) -> int:
        from recon_operators.store.catalog import REQUIRED_TABLES

        missing = ResultsStoreHook(self.store_conn_id).missing_tables()
        if missing:
            raise AirflowFailException(f"results store lacks {len(missing)} table(s): {', '.join(missing)}")
        self.log.info("results store holds all %d required tables", len(REQUIRED_TABLES))
        return len(REQUIRED_TABLES)
