"""DynamoDB as one more engine: a row diff side (``DynamoDBDataset``) and a check side
(``DynamoDBSource``), both over paginated Scan/Query of a table.

Plain boto3 (no Airflow): the caller hands over a low-level DynamoDB client (from an Airflow
AWS connection, or ``boto3.client("dynamodb", endpoint_url=...)``). Each page is one request,
retried with exponential backoff when DynamoDB throttles, and resumed from its
``LastEvaluatedKey``; a parallel scan reads ``segments`` segments at once.

DynamoDB cannot aggregate or join, so a side streams what it needs and the work happens in
DuckDB: the row diff stages pages as Arrow batches, exactly as the MongoDB side does (the
dataset hands ``MongoDataset`` a collection-like face over the scan); checks scan the table
once into an Arrow table that DuckDB aggregates, as file sides are. Numbers (``N``) keep their
exact digits and compare by value; maps and lists compare as canonical JSON text.

Written against today's interfaces (``rowdiff.base.Dataset``, ``sources.base.Source``); the
engine's adapter model (one adapter per engine, logical types) is the place it moves to.
"""

from __future__ import annotations

import json
import queue
import re
import threading
from base64 import b64encode
from decimal import Decimal
from typing import Any, Callable, Iterator, Mapping

from recon_operators.engine.dialects import DIALECTS
from recon_operators.engine.rowdiff.mongo_dataset import MongoDataset
from recon_operators.engine.sources.base import SourceError
from recon_operators.engine.sources.files import VIEW, FileSource, _DuckDBSession
from recon_operators.engine.sources.sql import SqlSource
from recon_operators.errors import one_line
from recon_operators.retry import Backoff, aws_throttling

Item = dict[str, Any]
PAGE_SIZE = 1000  # items per request (DynamoDB also stops a page at 1 MB)
_DONE = object()


def plain(value: Mapping[str, Any]) -> Any:
    """A DynamoDB attribute value (``{"S": "x"}``) as Python: text stays text, a number stays
    its exact text (so ``10.10`` keeps its digits), maps and lists become canonical JSON text."""
    (kind, raw), = value.items()
    if kind in ("S", "N"):
        return raw
    if kind == "BOOL":
        return "true" if raw else "false"
    if kind == "NULL":
        return None
    if kind == "B":
        return b64encode(raw).decode("ascii")
    if kind in ("SS", "NS"):
        return json.dumps(sorted(raw))
    if kind == "BS":
        return json.dumps(sorted(b64encode(b).decode("ascii") for b in raw))
    return json.dumps(_nested(value), sort_keys=True, separators=(",", ":"))


def _nested(value: Mapping[str, Any]) -> Any:
    (kind, raw), = value.items()
    if kind == "M":
        return {k: _nested(v) for k, v in raw.items()}
    if kind == "L":
        return [_nested(v) for v in raw]
    if kind == "N":
        return Decimal(raw) if "." in raw or "e" in raw.lower() else int(raw)
    if kind == "BOOL":
        return bool(raw)
    return None if kind == "NULL" else plain(value)


def plain_item(item: Mapping[str, Mapping[str, Any]]) -> Item:
    return {name: plain(value) for name, value in item.items()}


def typed_item(item: Mapping[str, Mapping[str, Any]]) -> Item:
    """Like ``plain_item``, but numbers as ``Decimal``: what tells a diff or check they are numbers."""
    return {name: Decimal(value["N"]) if "N" in value else plain(value) for name, value in item.items()}


Converter = Callable[[Mapping[str, Mapping[str, Any]]], Item]


def read_pages(client: Any, request: Mapping[str, Any], *, operation: str = "scan", backoff: Backoff = Backoff(),
               convert: Converter = plain_item) -> Iterator[list[Item]]:
    """Every page of one Scan or Query (``request``: its parameters), as lists of items."""
    call = client.scan if operation == "scan" else client.query
    params = {"Limit": PAGE_SIZE, **request}
    while True:
        page = backoff.run(lambda: call(**params), aws_throttling)
        yield [convert(item) for item in page.get("Items", [])]
        start = page.get("LastEvaluatedKey")
        if not start:
            return
        params = {**params, "ExclusiveStartKey": start}


def scan_pages(client: Any, request: Mapping[str, Any], *, segments: int = 1, backoff: Backoff = Backoff(),
               convert: Converter = plain_item) -> Iterator[list[Item]]:
    """A (parallel) Scan: ``segments`` threads each read one segment; pages come out as they arrive."""
    if segments <= 1:
        yield from read_pages(client, request, backoff=backoff, convert=convert)
        return
    pages: queue.Queue[Any] = queue.Queue(maxsize=segments * 2)
    stop = threading.Event()

    def read(segment: int) -> None:
        try:
            for page in read_pages(client, {**request, "Segment": segment, "TotalSegments": segments},
                                   backoff=backoff, convert=convert):
                while not stop.is_set():
                    try:
                        pages.put(page, timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            pages.put(exc)
        finally:
            pages.put(_DONE)

    threads = [threading.Thread(target=read, args=(s,), daemon=True, name=f"dynamodb-scan-{s}")
               for s in range(segments)]
    for thread in threads:
        thread.start()
    running = segments
    try:
        while running:
            page = pages.get()
            if page is _DONE:
                running -= 1
            elif isinstance(page, BaseException):
                raise page
            else:
                yield page
    finally:
        stop.set()
        while any(t.is_alive() for t in threads):
            try:
                pages.get(timeout=0.1)
            except queue.Empty:
                pass


_NAME = re.compile(r"#([A-Za-z_][A-Za-z0-9_]*)")
_VALUE = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)")


def scan_request(table: str, filter: str | None = None, params: Mapping[str, Any] | None = None,
                 attributes: list[str] | None = None) -> dict[str, Any]:
    """A Scan of ``table``: ``filter`` is a FilterExpression naming attributes ``#name`` and values
    ``:name`` (bound from ``params``, as strings or numbers); ``attributes`` projects."""
    request: dict[str, Any] = {"TableName": table}
    names: dict[str, str] = {}
    if filter:
        names.update({f"#{n}": n for n in _NAME.findall(filter)})
        values = {}
        for name in _VALUE.findall(filter):
            if name not in (params or {}):
                raise SourceError(f"dynamodb {table}: the filter needs :{name}, which the scope does not give")
            value = params[name]
            values[f":{name}"] = {"N": str(value)} if isinstance(value, (int, Decimal)) else {"S": str(value)}
        request["FilterExpression"] = filter
        if values:
            request["ExpressionAttributeValues"] = values
    if attributes:
        aliases = {f"#p{i}": name for i, name in enumerate(attributes)}
        names.update(aliases)
        request["ProjectionExpression"] = ", ".join(aliases)
    if names:
        request["ExpressionAttributeNames"] = names
    return request


class _ScannedTable:
    """What ``MongoDataset`` reads from a collection (``find``), served by a DynamoDB Scan.
    Documents carry the logical column names (``columns``: logical name -> attribute)."""

    def __init__(self, dataset: "DynamoDBDataset"):
        self.dataset = dataset

    def find(self, _filter: Any = None, projection: Mapping[str, Any] | None = None, *, limit: int | None = None,
             batch_size: int | None = None) -> Iterator[Item]:
        d = self.dataset
        wanted = [d.columns.get(name, name) for name in projection] if projection else None
        request = scan_request(d.table, d.filter, d.params, wanted)
        if limit:
            pages: Iterator[list[Item]] = read_pages(d.client, {**request, "Limit": limit}, backoff=d.backoff,
                                                     convert=typed_item)
            rows = next(pages, [])[:limit]
        else:
            rows = (item for page in scan_pages(d.client, request, segments=d.segments, backoff=d.backoff,
                                                convert=typed_item) for item in page)
        logical = {attribute: name for name, attribute in d.columns.items()}
        for item in rows:
            yield {logical.get(name, name): value for name, value in item.items()}


class DynamoDBDataset(MongoDataset):
    """A DynamoDB table as a row diff side: ``client`` a low-level boto3 client, ``columns`` the
    logical names of attributes (``{"plan_id": "planId"}``; unnamed attributes keep their own),
    ``filter`` a FilterExpression (``"#status = :status"``, values from ``params``). Attributes
    an item lacks are NULL; ``columns`` names exist even when the probed items lack them."""

    def __init__(self, client: Any, table: str, *, columns: Mapping[str, str] | None = None,
                 filter: str | None = None, params: Mapping[str, Any] | None = None, segments: int = 4,
                 backoff: Backoff = Backoff(), label: str | None = None):
        self.client, self.table, self.segments, self.backoff = client, table, segments, backoff
        self.columns = dict(columns or {})
        self.params = dict(params or {})
        self.filter = filter  # MongoDataset hands it to find(), which builds the Scan from the fields above
        self.name = table
        self.label = label or f"dynamodb {table}"
        self.collection = _ScannedTable(self)

    def describe(self) -> dict[str, Any]:
        return {"engine": "dynamodb", "table": self.table, "filter": self.filter or None}

    def kinds(self) -> dict[str, str | None]:
        found = super().kinds()
        for name in self.columns:
            found.setdefault(name, None)
        return found

    def fail(self, exc: BaseException) -> SourceError:
        return SourceError(f"{self.label}: {one_line(exc)}")


class DynamoDBSource(FileSource):
    """A DynamoDB table as a check side: one (parallel) scan into an Arrow table of text columns
    that DuckDB aggregates (``side.filter`` is a DuckDB predicate over it, as on file sides)."""

    def __init__(self, client: Any, side: Any, *, table: str, segments: int = 4, backoff: Backoff = Backoff(),
                 conn_id: str | None = None):
        import duckdb
        import pyarrow as pa

        self.table = table
        columns: dict[str, list[Any]] = {}
        count = 0
        try:
            for page in scan_pages(client, scan_request(table), segments=segments, backoff=backoff):
                for item in page:
                    for name in item.keys() - columns.keys():
                        columns[name] = [None] * count
                    for name, values in columns.items():
                        values.append(item.get(name))
                    count += 1
        except Exception as exc:  # noqa: BLE001 - botocore errors differ by cause
            raise SourceError(f"dynamodb {table}: {one_line(exc)}") from None
        connection = duckdb.connect()
        connection.register(VIEW, pa.table({n: pa.array(v, type=pa.string()) for n, v in columns.items()}
                                           if columns else {"_empty": pa.array([], type=pa.string())}))
        SqlSource.__init__(self, _DuckDBSession(connection), side, DIALECTS["duckdb"], conn_id=conn_id, relation=VIEW,
                           textual=True)
        self.kind = "dynamodb"

    @property
    def label(self) -> str:
        return f"dynamodb {self.table}"

    def describe(self) -> dict[str, Any]:
        out = {"engine": "dynamodb", "table": self.table}
        if self.side.filter:
            out["filter"] = self.side.filter
        return out

