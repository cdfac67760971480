"""Airflow sensors that wait on the results ledger.

``LedgerSensor`` is loaded lazily so ``recon_operators.sensors.condition`` (the pure decision
the sensor and its trigger share) imports without Airflow, for unit tests and the CLI.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LedgerSensor"]


def __getattr__(name: str) -> Any:
    if name == "LedgerSensor":
        from recon_operators.sensors.ledger import LedgerSensor

        return LedgerSensor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
