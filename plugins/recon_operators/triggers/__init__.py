"""Airflow triggers: the async halves of deferrable sensors, run in the triggerer."""

from recon_operators.triggers.landing import LandingTrigger
from recon_operators.triggers.ledger import LedgerTrigger

__all__ = ["LandingTrigger", "LedgerTrigger"]
