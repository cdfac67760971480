"""Where the project's SQL and config live, for source checkouts and installed images alike."""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The folder holding dags/, plugins/ and include/ (``RECON_PROJECT_ROOT`` overrides)."""
    override = os.environ.get("RECON_PROJECT_ROOT")
    if override:
        return Path(override)
    # plugins/recon_operators/paths.py -> repo root (also /opt/airflow in the image).
    return Path(__file__).resolve().parents[2]


def sql_dir() -> Path:
    return Path(os.environ.get("RECON_SQL_DIR") or project_root() / "include" / "sql")


def migrations_dir() -> Path:
    return sql_dir() / "migrations"


def config_dir() -> Path:
    return Path(os.environ.get("RECON_CONFIG_DIR") or project_root() / "include" / "config")


def read_sql(relative: str) -> str:
    """Read one SQL template from include/sql (one concern per file)."""
    return (sql_dir() / relative).read_text(encoding="utf-8")
