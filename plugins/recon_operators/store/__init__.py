"""The results ledger on Postgres: migrations, idempotent per-scope writes, verdict reads."""

from recon_operators.store.db import StoreError, connect
from recon_operators.store.ledger import RecordedRun, ResultsStore, RunHandle, Verdict
from recon_operators.store.migrations import MigrationError, apply_migrations, migration_status

__all__ = [
    "MigrationError",
    "RecordedRun",
    "ResultsStore",
    "RunHandle",
    "StoreError",
    "Verdict",
    "apply_migrations",
    "connect",
    "migration_status",
]
