"""Where the project's SQL and config live, for source checkouts and installed wheels alike.

``include/`` sits beside ``plugins/`` in a checkout (and in the Airflow image, where ``plugins/``
is on sys.path); a wheel carries the same tree inside the package as ``recon_operators/include``
(see setup.py). Every reader goes through :func:`include_dir`, so both layouts work unchanged.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

_CHECKOUT_ROOT = Path(__file__).resolve().parents[2]  # plugins/recon_operators/paths.py -> repo root


def project_root() -> Path:
    """The folder holding dags/, plugins/ and include/ (``RECON_PROJECT_ROOT`` overrides)."""
    override = os.environ.get("RECON_PROJECT_ROOT")
    return Path(override) if override else _CHECKOUT_ROOT


def include_dir() -> Path:
    """The copy packaged in an installed wheel, else include/ of the checkout."""
    if not os.environ.get("RECON_PROJECT_ROOT"):
        # An installed wheel is unpacked on disk, so the resource is a real folder.
        packaged = Path(str(files("recon_operators") / "include"))
        if packaged.is_dir():
            return packaged
    return project_root() / "include"


def sql_dir() -> Path:
    return Path(os.environ.get("RECON_SQL_DIR") or include_dir() / "sql")


def migrations_dir() -> Path:
    return sql_dir() / "migrations"


def config_dir() -> Path:
    return Path(os.environ.get("RECON_CONFIG_DIR") or include_dir() / "config")


def resolve_suite_path(path: str) -> Path:
    """Suite files are named relative to include/config/suites unless absolute."""
    candidate = Path(path)
    if candidate.is_absolute():
        return candidate
    return config_dir() / "suites" / candidate


def read_sql(relative: str, *, package: str | None = None) -> str:
    """Read one SQL template (one concern per file) from include/sql, or with ``package`` from the
    sql/ folder that package ships (demo and bench SQL stay out of the production folders)."""
    if package:
        return (files(package) / "sql" / relative).read_text(encoding="utf-8")
    return (sql_dir() / relative).read_text(encoding="utf-8")
