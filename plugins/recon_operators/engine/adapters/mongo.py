"""MongoDB: aggregates in one pipeline per request, the row diff in document batches.

The pipeline is ``$match`` (the side's filter, ``:name`` parameters bound from the scope) + the
side's own ``pipeline`` + one ``$group`` on the raw group-key values. Mongo computes what it can
compute exactly: counts, exact Decimal128 sums (``$toDecimal``), min/max of plain text, and
expression accumulators. Canonical forms are rendered here, on the grouped results only, by
``canonical.python_text``, the Python twin of the SQL dialects, so group keys, distinct values
and row hashes are the very texts the SQL and file sides produce:

* raw values are grouped and their canonical forms merged here: MongoDB's ``$trim`` is missing
  from mongomock (the test double) and ``$toUpper`` folds ASCII only while SQL ``UPPER`` is
  Unicode; ``$round`` rounds half to even where the engine rounds half away from zero.
* ``count_distinct`` and min/max of anything but plain text ship each group's distinct raw values
  (``$addToSet``) and reduce them here. One group's distinct raw values must fit in a 16 MB
  result document (some 500k short values).
* ``hash``: MongoDB's aggregation language has no md5, so the matched documents' projected
  fields are streamed in batches and hashed here (the one measure computed client-side).

Column types are inferred from a sample of documents (``types.infer_from_values``). Documents are
schemaless: a missing field is null, never an error. Documents are decoded by the driver anyway,
so the row diff renders them in Python batch by batch and appends them to DuckDB as Arrow tables.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Context, Decimal
from pathlib import Path
from typing import Any

from bson.decimal128 import Decimal128
from bson.errors import BSONError
from pymongo.errors import OperationFailure, PyMongoError

from recon_operators.connections import ConnectionInfo
from recon_operators.engine.adapters.base import (
    Adapter,
    AggregateRequest,
    AggregateRows,
    GroupKey,
    Measure,
    Progress,
    SourceError,
)
from recon_operators.engine.canonical import ColumnPlan, Form, Side, python_text
from recon_operators.engine.fingerprint import fingerprint, row_hash
from recon_operators.engine.identifiers import quote_ident
from recon_operators.engine.logical_types import DECIMAL, FLOAT, INTEGER, TEXT, LogicalType, infer_from_values
from recon_operators.engine.spec import SideSpec
from recon_operators.errors import first_line

PROBE_DOCUMENTS = 200
DIFF_BATCH = 10_000
NUMERIC_FORMS = (INTEGER, DECIMAL, FLOAT)


def connect(info: ConnectionInfo, label: str) -> Any:
    """A pymongo Database for a ``mongodb://`` URL or a Mongo connection."""
    import pymongo

    auth = f"{info.login}:{info.password}@" if info.login else ""
    uri = f"mongodb://{auth}{info.host or '127.0.0.1'}:{info.port or 27017}/"
    options = {k: v for k, v in info.extra.items() if k in ("authSource", "tls", "replicaSet")}
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000, **options)
    database = info.schema or info.extra.get("database")
    if not database:
        client.close()
        raise SourceError(f"mongo {label}: the connection names no database")
    return client[database]


HASH_BATCH_SIZE = 10_000
_PARAM = re.compile(r"^:([a-z_][a-z0-9_]*)$")
_EXACT = Context(prec=80)  # Python's default 28 digits would round Decimal128 totals (34 digits)
_WRITING_STAGES = ("$out", "$merge")
_MERGE: dict[str, Callable[[Any, Any], Any]] = {
    "$sum": lambda a, b: a + b,
    "$count": lambda a, b: a + b,
    "$min": min,
    "$max": max,
}


def bind_filter(node: Any, params: Mapping[str, Any]) -> Any:
    """The filter document with every ``":name"`` string value replaced by ``params[name]``."""
    if isinstance(node, dict):
        return {key: bind_filter(value, params) for key, value in node.items()}
    if isinstance(node, (list, tuple)):
        return [bind_filter(value, params) for value in node]
    if isinstance(node, str):
        match = _PARAM.match(node)
        if match:
            name = match.group(1)
            if params.get(name) in (None, ""):
                raise SourceError(f"mongo filter needs :{name} but the scope has no {name}")
            return params[name]
    return node


def _plain(value: Any) -> Any:
    """BSON values as the normaliser expects them: Decimal, naive UTC datetimes."""
    if isinstance(value, Decimal128):
        return value.to_decimal()
    if isinstance(value, datetime) and value.tzinfo is not None:
        # A tz-aware client gives the same instant; the rule's zone applies to the wall clock.
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _number(value: Any) -> Any:
    """Numeric results as exact Decimals (as the SQL sides return them)."""
    value = _plain(value)
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return value
    return value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float) else value)


def _one_line(exc: BaseException) -> str:
    """A driver error as one short line (no 'full error' dump, no topology description)."""
    text = str(exc)
    if isinstance(exc, OperationFailure) and isinstance(exc.details, dict) and exc.details.get("errmsg"):
        text = str(exc.details["errmsg"])
    for cut in (", full error:", ", Timeout:", ", Topology Description:"):
        text = text.split(cut, 1)[0]
    return first_line(text) or exc.__class__.__name__


def _field_path(physical: str) -> str:
    """``profile.status`` -> ``$profile.status``; refuses names that are not plain field paths."""
    parts = physical.split(".")
    if not physical or any(not p or p.startswith("$") or "\x00" in p for p in parts):
        raise SourceError(f"field {physical!r} is not a field path (name or dotted.path)")
    return "$" + physical


@dataclass(frozen=True)
class _Column:
    """A logical column on this side: its field path, this side's column and the pair's form."""

    name: str
    path: str
    side: Side
    form: Form

    @property
    def value(self) -> dict[str, Any]:
        """The field's value, a missing field counting as null."""
        return {"$ifNull": [self.path, None]}

    def unless_null(self, expression: Any) -> dict[str, Any]:
        return {"$cond": [{"$eq": [self.value, None]}, None, expression]}

    @property
    def group_key(self) -> Any:
        # Numbers group as text: identical on every server and on mongomock, which cannot order
        # Decimal128. 1.1 and 1.10 land in two raw groups that the canonical key merges again.
        # Plain paths otherwise (mongomock's $ifNull takes 0, false and '' for null).
        if self.form.kind in NUMERIC_FORMS:
            return self.unless_null({"$toString": self.value})
        return self.path

    @property
    def native_extremes(self) -> bool:
        """Whether Mongo's own $min/$max pick the value the form would (plain text keeps its order)."""
        rule = self.side.rule
        return self.form.kind == TEXT and self.side.type.kind == TEXT and not rule.trim and not rule.case

    @property
    def ordered_value(self) -> Any:
        """The value for $min/$max: '' is null when the rule says so (else '' would be the min)."""
        if self.side.rule.empty_as_null:
            return {"$cond": [{"$eq": [self.value, ""]}, None, self.value]}
        return self.value

    def canonical(self, value: Any) -> str | None:
        try:
            return python_text(_plain(value), self.form, self.side.rule)
        except (ValueError, TypeError, ArithmeticError, OverflowError):
            # The value itself stays out of the message: it may be an MSISDN or an email.
            raise SourceError(f"column {self.name}: a {type(value).__name__} value does not fit {self.form}") from None

    def normalise(self, value: Any) -> Any:
        """The value as the measures compare it: a Decimal for numeric forms, else canonical text."""
        text = self.canonical(value)
        if text is None or self.form.kind not in NUMERIC_FORMS:
            return text
        try:
            return Decimal(text)
        except ArithmeticError:
            return text

    def extreme(self, value: Any) -> Any:
        return self.normalise(value)


def _pick(current: Any, new: Any, func: str) -> Any:
    if new is None:
        return current
    if current is None:
        return new
    try:
        return min(current, new) if func == "min" else max(current, new)
    except TypeError:  # mixed types in an untyped field: compare as text
        return min(current, new, key=str) if func == "min" else max(current, new, key=str)


def _accumulator_op(measure: Measure) -> str:
    expression = measure.expression
    if not (isinstance(expression, dict) and len(expression) == 1 and str(next(iter(expression))).startswith("$")):
        raise SourceError(
            f"measure {measure.name}: a Mongo rule is one accumulator document, "
            "e.g. {'$sum': {'$cond': [{'$eq': ['$status', 'ACTIVE']}, 1, 0]}}"
        )
    return str(next(iter(expression)))


@dataclass
class _Group:
    """Partial results of one canonical group, folded from one or more raw Mongo groups."""

    values: dict[str, Any] = field(default_factory=dict)
    sets: dict[str, set[Any]] = field(default_factory=dict)


class MongoAdapter(Adapter):
    """A collection (filter + pipeline) on a pymongo Database given by the caller."""

    engine = "mongo"
    locator = "collection"
    schemaless = True

    def __init__(
        self,
        database: Any,
        side: SideSpec,
        *,
        connection_label: str | None = None,
        params: Mapping[str, Any] | None = None,
    ):
        if not side.collection:
            raise SourceError("a mongo side needs a collection")
        self.database = database
        self.side = side
        self.conn_id = connection_label
        self.params = {**dict(params or {}), **side.params}
        self._columns: dict[str, LogicalType] | None = None

    @classmethod
    def from_connection(
        cls, side: SideSpec, info: ConnectionInfo, label: str, params: Mapping[str, Any] | None = None
    ) -> MongoAdapter:
        return cls(connect(info, label), side, connection_label=label, params=params)

    @property
    def label(self) -> str:  # type: ignore[override]
        return f"{self.conn_id or getattr(self.database, 'name', '')}.{self.side.collection}"

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "engine": "mongo",
            "connection": self.conn_id,
            "database": getattr(self.database, "name", None),
            "collection": self.side.collection,
        }
        if self.side.filter:
            out["filter"] = self.side.filter  # placeholders, not the bound scope values
        return out

    def close(self) -> None:
        client = getattr(self.database, "client", None)
        try:
            if client is not None:
                client.close()
        except Exception:  # noqa: BLE001 - best effort on a broken client
            pass

    # -- request -> pipeline ------------------------------------------------------------------
    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Every failure as one SourceError line naming this side."""
        try:
            yield
        except SourceError as exc:
            message = str(exc)  # messages that already name the side ("mongo collection x ...") stay as they are
            raise SourceError(message if message.startswith("mongo ") else f"mongo {self.label}: {message}") from None
        except (PyMongoError, BSONError) as exc:
            raise SourceError(f"mongo {self.label}: {_one_line(exc)}") from None

    def _column(self, name: str, request: AggregateRequest) -> _Column:
        if name in request.columns:
            side, form = request.columns[name]
        else:
            side, form = Side(self.side.physical(name), LogicalType(TEXT)), Form(TEXT)
        return _Column(name, _field_path(side.physical), side, form)

    def _prefix(self, request: AggregateRequest) -> list[dict[str, Any]]:
        """$match (filter with bound parameters) + the side's own stages."""
        stages: list[dict[str, Any]] = []
        if self.side.filter:
            if not isinstance(self.side.filter, dict):
                raise SourceError("a mongo filter is a query document, e.g. {cohort_id: ':cohort_id'}")
            stages.append(
                {"$match": bind_filter(self.side.filter, {**self.params, **request.params, **self.side.params})}
            )
        for stage in self.side.pipeline:
            if not (isinstance(stage, dict) and len(stage) == 1 and str(next(iter(stage))).startswith("$")):
                raise SourceError("each pipeline stage is a document with one $stage key")
            if next(iter(stage)) in _WRITING_STAGES:
                raise SourceError(f"pipeline stage {next(iter(stage))} writes data; a check only reads")
            stages.append(stage)
        return stages

    def _validate(self, request: AggregateRequest) -> None:
        for measure in request.measures:
            if measure.func in ("sum", "count_distinct", "min", "max") and not measure.column:
                raise SourceError(f"measure {measure.name}: {measure.func} needs a column")
            if measure.func == "hash" and not measure.columns:
                raise SourceError(f"measure {measure.name}: hash needs columns")
            if measure.func == "expression":
                _accumulator_op(measure)

    def _collection(self) -> Any:
        name = self.side.collection
        if name not in self.database.list_collection_names(filter={"name": name}):
            raise SourceError(f"mongo collection {name} does not exist")
        return self.database[name]

    # -- aggregate ----------------------------------------------------------------------------
    def aggregate(self, request: AggregateRequest) -> AggregateRows:
        with self._errors():
            self._validate(request)
            prefix = self._prefix(request)
            keys = [self._column(name, request) for name in request.group_by]
            collection = self._collection()
            hashes = [m for m in request.measures if m.func == "hash"]
            others = [m for m in request.measures if m.func != "hash"]
            groups: dict[GroupKey, _Group] = {(): _Group()} if not keys else {}
            if others or not hashes:
                self._grouped(collection, prefix, keys, others, request, groups)
            if hashes:
                self._hashed(collection, prefix, keys, hashes, request, groups)
            return {key: self._finish(group, request) for key, group in groups.items()}

    def _grouped(
        self,
        collection: Any,
        prefix: list[dict[str, Any]],
        keys: list[_Column],
        measures: list[Measure],
        request: AggregateRequest,
        groups: dict[GroupKey, _Group],
    ) -> None:
        """Everything but hashes, in one $group; raw groups folded into canonical ones."""
        columns = {m.column: self._column(m.column, request) for m in measures if m.column}
        stage: dict[str, Any] = {"_id": {f"k{i}": c.group_key for i, c in enumerate(keys)} if keys else None}
        for index, measure in enumerate(measures):
            column = columns.get(measure.column or "")
            if measure.func == "count":
                stage[f"m{index}"] = {"$sum": 1}
            elif measure.func == "sum" and column:
                stage[f"m{index}"] = {"$sum": column.unless_null({"$toDecimal": column.value})}
            elif measure.func in ("min", "max") and column and column.native_extremes:
                stage[f"m{index}"] = {f"${measure.func}": column.ordered_value}
            elif measure.func == "expression":
                stage[f"m{index}"] = measure.expression
        value_sets = sorted({m.column for m in measures if m.column and self._uses_set(m, columns[m.column])})
        key_ids = {f"k{i}": c.group_key for i, c in enumerate(keys)}
        for doc in collection.aggregate(prefix + [{"$group": stage}], allowDiskUse=True):
            raw_key = doc.get("_id") or {}
            group = groups.setdefault(tuple(c.canonical(raw_key.get(f"k{i}")) for i, c in enumerate(keys)), _Group())
            for index, measure in enumerate(measures):
                if not self._uses_set(measure, columns.get(measure.column or "")):
                    self._fold(group, measure, columns.get(measure.column or ""), doc.get(f"m{index}"))
        for name in value_sets:
            # Distinct raw values per group as groups of their own ($addToSet would do, but
            # mongomock's takes 0, false and '' for null); folded into canonical values here.
            column = columns[name]
            raw_value = {"$toString": column.path} if column.form.kind in NUMERIC_FORMS else column.path
            pipeline = prefix + [{"$group": {"_id": {**key_ids, "v": raw_value}}}]
            for doc in collection.aggregate(pipeline, allowDiskUse=True):
                raw = doc.get("_id") or {}
                key = tuple(c.canonical(raw.get(f"k{i}")) for i, c in enumerate(keys))
                raw_value = raw.get("v")
                if column.form.kind in NUMERIC_FORMS and raw_value == "None":
                    raw_value = None  # mongomock's $toString of null; no number prints as "None"
                value = column.normalise(raw_value)
                values = groups.setdefault(key, _Group()).sets.setdefault(name, set())
                if value is not None:
                    values.add(value)

    @staticmethod
    def _uses_set(measure: Measure, column: _Column | None) -> bool:
        return column is not None and (
            measure.func == "count_distinct" or (measure.func in ("min", "max") and not column.native_extremes)
        )

    def _fold(self, group: _Group, measure: Measure, column: _Column | None, value: Any) -> None:
        """Add one raw group's value for a measure to its canonical group."""
        seen = measure.name in group.values
        current = group.values.get(measure.name)
        if measure.func == "count":
            group.values[measure.name] = (current or 0) + int(value or 0)
        elif measure.func == "sum":
            group.values[measure.name] = _EXACT.add(current or Decimal(0), _number(value) or Decimal(0))
        elif measure.func in ("min", "max") and column:
            group.values[measure.name] = _pick(current, None if value is None else column.extreme(value), measure.func)
        elif measure.func == "expression":
            value = _number(value)
            if seen and current is not None and value is not None:
                op = _accumulator_op(measure)
                if op not in _MERGE:
                    raise SourceError(
                        f"measure {measure.name}: {op} results cannot be combined across raw values "
                        "that normalise to the same group key; use $sum, $count, $min or $max"
                    )
                value = _MERGE[op](current, value)
            group.values[measure.name] = current if value is None else value

    def _hashed(
        self,
        collection: Any,
        prefix: list[dict[str, Any]],
        keys: list[_Column],
        measures: list[Measure],
        request: AggregateRequest,
        groups: dict[GroupKey, _Group],
    ) -> None:
        """Row hashes, computed here: stream only the needed fields of matched documents."""
        names = list(dict.fromkeys([c.name for c in keys] + [n for m in measures for n in m.columns]))
        columns = {name: self._column(name, request) for name in names}
        alias = {name: f"f{i}" for i, name in enumerate(names)}
        project = {"_id": 0, **{alias[name]: columns[name].path for name in names}}
        totals: dict[GroupKey, dict[str, list[int]]] = {}
        cursor = collection.aggregate(prefix + [{"$project": project}], allowDiskUse=True, batchSize=HASH_BATCH_SIZE)
        for doc in cursor:
            texts = {name: columns[name].canonical(doc.get(alias[name])) for name in names}
            key = tuple(texts[c.name] for c in keys)
            sums = totals.setdefault(key, {m.name: [0, 0] for m in measures})
            for measure in measures:
                sums[measure.name][0] += 1
                sums[measure.name][1] += row_hash(texts[n] for n in measure.columns)
        for key, sums in totals.items():
            group = groups.setdefault(key, _Group())
            for name, (rows, total) in sums.items():
                group.values[name] = fingerprint(rows, total)

    def _finish(self, group: _Group, request: AggregateRequest) -> dict[str, Any]:
        return {
            m.name: _final(m, group, self._column(m.column, request) if m.column else None) for m in request.measures
        }

    # -- types and the row diff -----------------------------------------------------------------
    def columns(self) -> dict[str, LogicalType]:
        """Types inferred from a sample of matching documents (top-level fields; a dotted path
        into a sub-document is looked up as schemaless text by the runner)."""
        if self._columns is None:
            with self._errors():
                collection = self._collection()
                found: dict[str, list[Any]] = {}
                try:
                    match = self._match()
                except SourceError:  # the scope's values are not known yet: sample the whole collection
                    match = {}
                for document in collection.find(match, limit=PROBE_DOCUMENTS):
                    _flatten(document, "", found)
                found.pop("_id", None)
                self._columns = {name: infer_from_values(values) for name, values in found.items()}
        return dict(self._columns)

    def _match(self) -> dict[str, Any]:
        if not self.side.filter:
            return {}
        if not isinstance(self.side.filter, dict):
            raise SourceError("a mongo filter is a query document, e.g. {cohort_id: ':cohort_id'}")
        return bind_filter(self.side.filter, self.params)

    def stage(
        self,
        duck: Any,
        table: str,
        plans: list[ColumnPlan],
        side: str,
        spill_dir: Path,
        table_budget: int = 1 << 62,
        progress: Progress | None = None,
        scope: Mapping[str, Any] | None = None,
    ) -> None:
        import pyarrow as pa

        columns = [_Column(p.name, _field_path(p.side(side).physical), p.side(side), p.form) for p in plans]
        schema = pa.schema([(p.name, pa.string()) for p in plans])
        duck.execute(f"CREATE TABLE {table} ({', '.join(quote_ident(p.name) + ' VARCHAR' for p in plans)})")
        with self._errors():
            collection = self._collection()
            projection = {"_id": 0, **{f"f{i}": c.path for i, c in enumerate(columns)}}
            cursor = collection.aggregate(
                self._prefix(AggregateRequest((), params=dict(scope or {}))) + [{"$project": projection}],
                allowDiskUse=True,
                batchSize=DIFF_BATCH,
            )
            batch: list[Any] = []
            staged = 0
            for document in cursor:
                batch.append(document)
                if len(batch) >= DIFF_BATCH:
                    staged += self._append(duck, table, schema, columns, batch)
                    batch = []
                    if progress:
                        progress(side, "streaming", staged)
            self._append(duck, table, schema, columns, batch)

    @staticmethod
    def _append(duck: Any, table: str, schema: Any, columns: list[_Column], documents: list[Any]) -> int:
        import pyarrow as pa

        if not documents:
            return 0
        values = [[c.canonical(d.get(f"f{i}")) for d in documents] for i, c in enumerate(columns)]
        duck.register("mongo_batch", pa.table(values, schema=schema))
        try:
            duck.execute(f"INSERT INTO {table} SELECT * FROM mongo_batch")
        finally:
            duck.unregister("mongo_batch")
        return len(documents)


def _flatten(document: Any, prefix: str, found: dict[str, list[Any]]) -> None:
    for name, value in document.items():
        found.setdefault(f"{prefix}{name}", []).append(value)


def _final(measure: Measure, group: _Group, column: _Column | None) -> Any:
    """A measure's value in the engine's types, defaults for groups without documents."""
    value = group.values.get(measure.name)
    if measure.func == "count":
        return value or 0
    if measure.func == "count_distinct":
        return len(group.sets.get(measure.column or "", ()))
    if measure.func == "sum":
        total = value or Decimal(0)
        if column is None or not column.form.rounds:
            return total
        return total.quantize(Decimal(1).scaleb(-(column.form.scale or 0)), rounding=ROUND_HALF_UP, context=_EXACT)
    if measure.func in ("min", "max") and column is not None and not column.native_extremes:
        values = group.sets.get(measure.column or "") or set()
        value = (min(values) if measure.func == "min" else max(values)) if values else None
        return Decimal(value) if isinstance(value, int) else value
    if measure.func == "hash":
        return value or "0:0"
    if measure.func == "expression" and value is None and _accumulator_op(measure) in ("$sum", "$count"):
        return Decimal(0)  # no documents: the total of nothing
    return value
