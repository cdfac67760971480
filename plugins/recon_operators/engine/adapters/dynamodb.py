"""DynamoDB: one more engine, read by a (parallel) Scan and compared in DuckDB.

DynamoDB can neither aggregate nor join, so the side streams what it holds and DuckDB does the
work, as it does for files: the table is scanned once (``segments`` segments at once, each page
one request, retried with exponential backoff when DynamoDB throttles and resumed from its
``LastEvaluatedKey``) into an Arrow table of text, which the adapter registers as the side's
view; checks aggregate over it and the row diff stages from it, exactly as for a CSV side
(``FileAdapter``), the side's ``filter`` being a DuckDB predicate over that view.

Types come from what DynamoDB stores: ``BOOL`` is boolean, maps, lists and sets are JSON, ``B``
is binary (UTF-8 bytes), numbers (``N``, exact digits) and strings (``S``) are typed from their
text as CSV columns are (``infer_from_text``: ISO timestamps and dates, UUIDs, integers and
decimals; a code with a leading zero stays text), marked inferred so a declared type on the
other side wins. Items are schemaless: an attribute an item lacks is NULL.

Plain boto3 (no Airflow): ``from_connection`` builds the client from an AWS connection (keys,
``endpoint_url``, ``region_name``); a caller holding a client passes it to ``DynamoDBAdapter``.
The whole table is held in memory once (as Arrow text), so this suits tables of millions of
items, not billions. ``scan_pages``/``read_pages`` also serve the subscriber jobs' Cloud store.
"""

from __future__ import annotations

import json
import queue
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from recon_operators.connections import ConnectionInfo
from recon_operators.engine.adapters.base import SourceError, value_free
from recon_operators.engine.adapters.files import VIEW, FileAdapter
from recon_operators.engine.canonical import Form, Side
from recon_operators.engine.identifiers import IdentifierError
from recon_operators.engine.logical_types import BINARY, BOOLEAN, JSON, LogicalType, infer_from_text
from recon_operators.engine.spec import SideSpec
from recon_operators.engine.sqlguard import StackedStatementError, single_statement
from recon_operators.errors import one_line
from recon_operators.retry import Backoff, aws_throttling

Item = dict[str, Any]
PAGE_SIZE = 1000  # items per request (DynamoDB also stops a page at 1 MB)
_DONE = object()
_DOCUMENT_TAGS = ("M", "L", "SS", "NS", "BS")


def connect(info: ConnectionInfo | None, label: str | None) -> Any:
    """A low-level DynamoDB client from an AWS connection (keys, endpoint, region), else boto3's
    default chain (instance role, environment)."""
    import boto3

    extra = info.extra if info is not None else {}
    try:
        return boto3.client(
            "dynamodb",
            endpoint_url=extra.get("endpoint_url") or None,
            region_name=extra.get("region_name") or "us-east-1",
            aws_access_key_id=(info.login if info else None) or None,
            aws_secret_access_key=(info.password if info else None) or None,
            aws_session_token=extra.get("aws_session_token") or None,
        )
    except Exception as exc:  # noqa: BLE001 - botocore configuration errors
        raise SourceError(f"dynamodb {label or ''}: cannot connect: {one_line(exc)}") from None


def _number(text: str) -> int | float:
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else float(value)


def _nested(value: Mapping[str, Any]) -> Any:
    """A DynamoDB value as plain JSON data (numbers as numbers, sets as sorted lists)."""
    ((kind, raw),) = value.items()
    if kind == "M":
        return {k: _nested(v) for k, v in raw.items()}
    if kind == "L":
        return [_nested(v) for v in raw]
    if kind == "N":
        return _number(raw)
    if kind == "NS":
        return sorted(_number(n) for n in raw)
    if kind in ("SS", "BS"):
        return sorted(raw if kind == "SS" else (b.decode("utf-8") for b in raw))
    if kind == "BOOL":
        return bool(raw)
    if kind == "B":
        return raw.decode("utf-8")
    return None if kind == "NULL" else raw


def plain(value: Mapping[str, Any]) -> str | None:
    """A DynamoDB attribute value (``{"S": "x"}``) as text: a string as it is, a number as its
    exact digits (``10.10`` keeps them), ``true``/``false``, maps, lists and sets as compact JSON
    with sorted keys, binary as its UTF-8 text (other bytes are refused)."""
    ((kind, raw),) = value.items()
    if kind in ("S", "N"):
        return raw
    if kind == "NULL":
        return None
    if kind == "BOOL":
        return "true" if raw else "false"
    try:
        if kind == "B":
            return raw.decode("utf-8")
        return json.dumps(_nested(value), sort_keys=True, separators=(",", ":"))
    except UnicodeDecodeError:
        raise SourceError("a binary attribute holds bytes that are not UTF-8 text (not supported)") from None


def plain_item(item: Mapping[str, Mapping[str, Any]]) -> Item:
    return {name: plain(value) for name, value in item.items()}


def tagged_item(item: Mapping[str, Mapping[str, Any]]) -> Item:
    """Each attribute as (DynamoDB type tag, text): the tag tells the adapter the column's type."""
    return {name: (next(iter(value)), plain(value)) for name, value in item.items()}


Converter = Callable[[Mapping[str, Mapping[str, Any]]], Item]


def read_pages(
    client: Any,
    request: Mapping[str, Any],
    *,
    operation: str = "scan",
    backoff: Backoff = Backoff(),
    convert: Converter = plain_item,
) -> Iterator[list[Item]]:
    """Every page of one Scan or Query (``request``: its parameters), as lists of items."""
    call = client.scan if operation == "scan" else client.query
    params = {"Limit": PAGE_SIZE, **request}
    while True:
        page = backoff.run(lambda params=params: call(**params), aws_throttling)
        yield [convert(item) for item in page.get("Items", [])]
        start = page.get("LastEvaluatedKey")
        if not start:
            return
        params = {**params, "ExclusiveStartKey": start}


def scan_pages(
    client: Any,
    request: Mapping[str, Any],
    *,
    segments: int = 1,
    backoff: Backoff = Backoff(),
    convert: Converter = plain_item,
) -> Iterator[list[Item]]:
    """A (parallel) Scan: ``segments`` threads each read one segment; pages come out as they arrive."""
    if segments <= 1:
        yield from read_pages(client, request, backoff=backoff, convert=convert)
        return
    pages: queue.Queue[Any] = queue.Queue(maxsize=segments * 2)
    stop = threading.Event()

    def read(segment: int) -> None:
        try:
            for page in read_pages(
                client, {**request, "Segment": segment, "TotalSegments": segments}, backoff=backoff, convert=convert
            ):
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

    threads = [
        threading.Thread(target=read, args=(s,), daemon=True, name=f"dynamodb-scan-{s}") for s in range(segments)
    ]
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


def scan_request(
    table: str, filter: str | None = None, params: Mapping[str, Any] | None = None, attributes: list[str] | None = None
) -> dict[str, Any]:
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


def _logical(tags: set[str], texts: list[str | None]) -> LogicalType:
    """A column's type from the DynamoDB types its items hold, and its text when that decides."""
    if tags == {"BOOL"}:
        return LogicalType(BOOLEAN, declared="dynamodb BOOL")
    if tags and tags <= set(_DOCUMENT_TAGS):
        return LogicalType(JSON, declared="dynamodb " + "/".join(sorted(tags)))
    if tags == {"B"}:
        return LogicalType(BINARY, declared="dynamodb B")
    return infer_from_text(texts)


class DynamoDBAdapter(FileAdapter):
    """A DynamoDB table (``side.table``) over a low-level boto3 client given by the caller.
    ``side.filter``: a DuckDB predicate over the scanned items (``:name`` bound from the scope)."""

    engine = "dynamodb"
    locator = "table"
    schemaless = True

    def __init__(
        self,
        client: Any,
        side: SideSpec,
        *,
        connection_label: str | None = None,
        params: Mapping[str, Any] | None = None,
        segments: int = 4,
        backoff: Backoff = Backoff(),
    ):
        if not side.table or side.query:
            raise SourceError("a dynamodb side names a table (DynamoDB runs no SQL query)")
        self.client, self.table, self.segments, self.backoff = client, side.table, segments, backoff
        self.side = side
        self.path, self.format, self.filesystem = "", "dynamodb", None
        self.connection_label = connection_label
        self.params = {**dict(params or {}), **side.params}
        self.label = f"dynamodb {side.table}"
        self.textual = True
        self._columns: dict[str, LogicalType] | None = None
        self._session: Any = None
        self._scanned: Any = None
        try:
            self.filter = single_statement(side.filter, "filter") if side.filter else None
        except (StackedStatementError, IdentifierError) as exc:
            raise SourceError(f"{self.label}: {exc}") from None

    @classmethod
    def from_connection(
        cls, side: SideSpec, info: Any, label: str | None, params: Mapping[str, Any] | None = None
    ) -> DynamoDBAdapter:
        return cls(connect(info, label), side, connection_label=label, params=params)

    @property
    def sources(self) -> dict[str, tuple[str, Any]]:  # type: ignore[override]
        """The side's view: the table, scanned once, as an Arrow table of text."""
        if self._scanned is None:
            self._scanned = self._scan()
        return {VIEW: ("arrow", self._scanned)}

    def _scan(self) -> Any:
        import pyarrow as pa

        values: dict[str, list[str | None]] = {name: [] for name in self.side.columns.values()}
        tags: dict[str, set[str]] = {name: set() for name in values}
        count = 0
        try:
            for page in scan_pages(
                self.client, scan_request(self.table), segments=self.segments, backoff=self.backoff, convert=tagged_item
            ):
                for item in page:
                    for name in item.keys() - values.keys():
                        values[name], tags[name] = [None] * count, set()
                    for name, column in values.items():
                        tag, text = item.get(name, ("NULL", None))
                        column.append(text)
                        if tag != "NULL":
                            tags[name].add(tag)
                    count += 1
        except SourceError as exc:
            raise SourceError(f"{self.label}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - botocore errors differ by cause
            raise self.fail(exc) from None
        self._columns = {name: _logical(tags[name], column) for name, column in values.items()}
        return pa.table(
            {name: pa.array(column, type=pa.string()) for name, column in values.items()}
            or {"_no_attribute": pa.array([], type=pa.string())}
        )

    def columns(self) -> dict[str, LogicalType]:
        self.sources  # noqa: B018 - the scan types the columns
        return dict(self._columns or {})

    def render(self, side: Side, form: Form) -> str:
        if side.physical not in (self._columns or {}):
            return "CAST(NULL AS VARCHAR)"  # an attribute no item holds: NULL, as on any schemaless side
        return super().render(side, form)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"engine": "dynamodb", "table": self.table}
        if self.connection_label:
            out["connection"] = self.connection_label
        if self.filter:
            out["filter"] = self.filter
        return out

    def fail(self, exc: BaseException) -> SourceError:
        return SourceError(f"{self.label}: {value_free(one_line(exc))}")
