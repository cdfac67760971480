"""One adapter per engine, serving both the aggregate checks and the row diff (see ``base``)."""

from recon_operators.engine.adapters.base import Adapter, AggregateRequest, Measure, SourceError

__all__ = ["Adapter", "AggregateRequest", "Measure", "SourceError"]
