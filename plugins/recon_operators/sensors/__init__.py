"""Airflow sensors: the results ledger (``LedgerSensor``) and S3 landings (``S3LandingSensor``).

Both are loaded lazily so ``recon_operators.sensors.condition`` (the pure decision the ledger
sensor and its trigger share) imports without Airflow, for unit tests and the CLI.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LedgerSensor", "S3LandingSensor"]


def __getattr__(name: str) -> Any:
    if name == "LedgerSensor":
        from recon_operators.sensors.ledger import LedgerSensor

        return LedgerSensor
    if name == "S3LandingSensor":
        from recon_operators.sensors.landing import S3LandingSensor

        return S3LandingSensor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
