"""MongoDB side: documents decoded by the driver, normalised in Python batch by batch
(``normalise.canonical_text``, as ``recon check`` does) and appended to DuckDB as Arrow tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

from recon_operators.engine.identifiers import quote_ident
from recon_operators.engine.normalise import NormaliseError
from recon_operators.engine.rowdiff.base import Dataset
from recon_operators.engine.rowdiff.plan import NUMBER, TIMESTAMP, ColumnPlan
from recon_operators.engine.sources.base import SourceError

MONGO_BATCH = 10_000
PROBE_DOCUMENTS = 100


class MongoDataset(Dataset):
    """A MongoDB collection (a pymongo or mongomock ``Database``), with an optional query
    document whose ``":name"`` string values are bound from ``params``. A missing field is NULL."""

    def __init__(self, database: Any, collection: str, *, filter: Mapping[str, Any] | None = None,
                 params: Mapping[str, Any] | None = None, label: str | None = None):
        from recon_operators.engine.sources.mongo import bind_filter

        self.collection = database[collection]
        self.name = collection
        self.label = label or f"mongo {collection}"
        self.filter = bind_filter(dict(filter or {}), dict(params or {}))

    def describe(self) -> dict[str, Any]:
        return {"engine": "mongo", "collection": self.name, "filter": self.filter or None}

    def kinds(self) -> dict[str, str | None]:
        from decimal import Decimal
        from datetime import date

        from bson.decimal128 import Decimal128

        found: dict[str, str | None] = {}
        try:
            for document in self.collection.find(self.filter, limit=PROBE_DOCUMENTS):
                for name, value in document.items():
                    if name == "_id":
                        continue
                    if isinstance(value, (int, float, Decimal, Decimal128)) and not isinstance(value, bool):
                        found[name] = found.get(name) or NUMBER
                    elif isinstance(value, date):
                        found[name] = found.get(name) or TIMESTAMP
                    else:
                        found.setdefault(name, None)
        except Exception as exc:  # noqa: BLE001 - pymongo errors
            raise self.fail(exc) from None
        return found

    def stage(self, duck: Any, table: str, plans: list[ColumnPlan], side: str, spill_dir: Path,
              table_budget: int = 1 << 62) -> None:
        import pyarrow as pa

        from recon_operators.engine.normalise import canonical_text, render
        from recon_operators.engine.sources.mongo import _plain

        def text(value: Any, plan: ColumnPlan) -> str | None:
            value = _plain(value)
            rule = plan.rule(side)
            if plan.numeric and rule.scale is None and rule.effective_type in (None, "decimal"):
                return render(value)  # compared by value in the join, as SQL sides send their own text
            return canonical_text(value, rule)

        schema = pa.schema([(p.name, pa.string()) for p in plans])
        duck.execute(f"CREATE TABLE {table} ({', '.join(quote_ident(p.name) + ' VARCHAR' for p in plans)})")
        try:
            cursor = self.collection.find(self.filter, {p.name: 1 for p in plans}, batch_size=MONGO_BATCH)
            batch: list[Any] = []
            for document in cursor:
                batch.append(document)
                if len(batch) >= MONGO_BATCH:
                    self._append(duck, table, schema, plans, batch, text)
                    batch = []
            self._append(duck, table, schema, plans, batch, text)
        except (NormaliseError, ValueError, TypeError) as exc:
            raise SourceError(f"{self.label}: a value does not fit its column rule ({type(exc).__name__})") from None
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self.fail(exc) from None

    @staticmethod
    def _append(duck: Any, table: str, schema: Any, plans: list[ColumnPlan], documents: list[Any],
                text: Callable[[Any, ColumnPlan], str | None]) -> None:
        import pyarrow as pa

        if not documents:
            return
        columns = [[text(_dig(d, p.name), p) for d in documents] for p in plans]
        duck.register("mongo_batch", pa.table(columns, schema=schema))
        try:
            duck.execute(f"INSERT INTO {table} SELECT * FROM mongo_batch")
        finally:
            duck.unregister("mongo_batch")


def _dig(document: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(document, dict):
            return None
        document = document.get(part)
    return document
