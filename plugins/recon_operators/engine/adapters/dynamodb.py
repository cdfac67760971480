"""DynamoDB as one more engine: paginated Scan/Query of a table, read as plain values.

Plain boto3 (no Airflow): the caller hands over a low-level DynamoDB client (from an Airflow
AWS connection, or ``boto3.client("dynamodb", endpoint_url=...)``). Each page is one request,
retried with exponential backoff when DynamoDB throttles, and resumed from its
``LastEvaluatedKey``; a parallel scan reads ``segments`` segments at once.
"""

from __future__ import annotations

import json
import queue
import threading
from base64 import b64encode
from decimal import Decimal
from typing import Any, Iterator, Mapping

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


def read_pages(client: Any, request: Mapping[str, Any], *, operation: str = "scan",
               backoff: Backoff = Backoff()) -> Iterator[list[Item]]:
    """Every page of one Scan or Query (``request``: its parameters), as lists of plain items."""
    call = client.scan if operation == "scan" else client.query
    params = {"Limit": PAGE_SIZE, **request}
    while True:
        page = backoff.run(lambda: call(**params), aws_throttling)
        yield [plain_item(item) for item in page.get("Items", [])]
        start = page.get("LastEvaluatedKey")
        if not start:
            return
        params = {**params, "ExclusiveStartKey": start}


def scan_pages(client: Any, request: Mapping[str, Any], *, segments: int = 1,
               backoff: Backoff = Backoff()) -> Iterator[list[Item]]:
    """A (parallel) Scan: ``segments`` threads each read one segment; pages come out as they arrive."""
    if segments <= 1:
        yield from read_pages(client, request, backoff=backoff)
        return
    pages: queue.Queue[Any] = queue.Queue(maxsize=segments * 2)
    stop = threading.Event()

    def read(segment: int) -> None:
        try:
            for page in read_pages(client, {**request, "Segment": segment, "TotalSegments": segments},
                                   backoff=backoff):
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
