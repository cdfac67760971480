"""Dataset sides: SQL (Postgres, MySQL/MariaDB), MongoDB, files (CSV/Parquet, local or S3)."""

from recon_operators.engine.sources.base import AggregateRequest, Measure, Source, SourceError

__all__ = ["AggregateRequest", "Measure", "Source", "SourceError"]
