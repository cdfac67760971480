"""Cloud: the subscriber table in DynamoDB (real boto3; moto in server mode for tests and demo).

Partition key ``uid``; global secondary indexes on ``status`` and ``planId`` as in the reference,
on-demand billing. Writes go through boto3's batch writer (``Table.batch_writer``'s class: 25
items a request, unprocessed items re-sent); reads of known uids through ``BatchGetItem`` (100 a request, consistent);
everything else is a paginated Scan or Query. Throttling is retried with exponential backoff.
Puts and deletes are idempotent, so a retried batch, or a retried chunk, lands the same items.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from boto3.dynamodb.table import BatchWriter

from recon_operators.engine.adapters.dynamodb import plain_item, read_pages, scan_pages
from recon_operators.engine.masking import scrub
from recon_operators.errors import one_line
from recon_operators.retry import Backoff, aws_throttling
from recon_operators.subscribers.model import ATTRIBUTES, Record

GET_BATCH = 100  # BatchGetItem limit
INDEXES = {"status": "status-index", "planId": "planId-index"}


class CloudError(RuntimeError):
    """DynamoDB refused or throttled beyond the retries; one line, no subscriber data."""


def item_of(record: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """A record as a DynamoDB item (every field a string); absent optional fields are left out,
    not stored as NULL."""
    return {name: {"S": value} for name, value in record.items() if value is not None and name in ATTRIBUTES}


def record_of(item: Mapping[str, Any]) -> Record:
    return {name: (None if item.get(name) is None else str(item[name])) for name in ATTRIBUTES}


class CloudStore:
    """The Cloud table over a low-level boto3 DynamoDB client (``boto3.client("dynamodb")``, or an
    Airflow AWS hook's), so reads and writes see DynamoDB's own typed values."""

    label = "cloud"

    def __init__(self, client: Any, table: str, *, backoff: Backoff = Backoff(), scan_segments: int = 4):
        self.client = client
        self.table_name = table
        self.backoff = backoff
        self.scan_segments = scan_segments

    def _fail(self, what: str, exc: BaseException) -> CloudError:
        return CloudError(scrub(f"cloud table {self.table_name}: {what}: {one_line(exc)}"))

    def ensure_table(self) -> bool:
        """Create the table with its indexes when missing (True when created); safe to race."""
        client = self.client
        try:
            client.describe_table(TableName=self.table_name)
            return False
        except client.exceptions.ResourceNotFoundException:
            pass
        attributes = [{"AttributeName": n, "AttributeType": "S"} for n in ("uid", *INDEXES)]
        indexes = [
            {
                "IndexName": name,
                "KeySchema": [{"AttributeName": attr, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
            for attr, name in INDEXES.items()
        ]
        try:
            client.create_table(
                TableName=self.table_name,
                BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": "uid", "KeyType": "HASH"}],
                AttributeDefinitions=attributes,
                GlobalSecondaryIndexes=indexes,
            )
        except client.exceptions.ResourceInUseException:
            pass  # another task created it first
        client.get_waiter("table_exists").wait(TableName=self.table_name, WaiterConfig={"Delay": 1})
        return True

    def get_many(self, uids: Iterable[str]) -> dict[str, Record]:
        """The current items of ``uids`` (absent ones are not in the result)."""
        wanted = list(dict.fromkeys(uids))
        found: dict[str, Record] = {}
        for start in range(0, len(wanted), GET_BATCH):
            keys = [{"uid": {"S": uid}} for uid in wanted[start : start + GET_BATCH]]
            for item in self._batch_get(keys):
                record = record_of(plain_item(item))
                found[str(record["uid"])] = record
        return found

    def _batch_get(self, keys: list[dict[str, str]]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        pending = {self.table_name: {"Keys": keys, "ConsistentRead": True}}
        for attempt in range(1, self.backoff.attempts + 1):
            try:
                response = self.backoff.run(
                    lambda pending=pending: self.client.batch_get_item(RequestItems=pending), aws_throttling
                )
            except Exception as exc:  # noqa: BLE001 - RetriesExhausted or a refusal
                raise self._fail("reading items failed", exc) from None
            items.extend(response.get("Responses", {}).get(self.table_name, []))
            pending = response.get("UnprocessedKeys") or {}
            if not pending:
                return items
            time.sleep(self.backoff.delay(attempt))
        raise CloudError(
            f"cloud table {self.table_name}: keys still unprocessed after {self.backoff.attempts} attempts"
        )

    def apply(self, changes: Mapping[str, Record | None]) -> None:
        """Put each record (``None``: delete the item); all or, after the retries, ``CloudError``.

        Raising means any subset may have landed: callers restore what they wrote (idempotent).
        """
        if not changes:
            return

        def write() -> None:
            with BatchWriter(self.table_name, self.client, overwrite_by_pkeys=["uid"]) as batch:
                for uid, record in changes.items():
                    if record is None:
                        batch.delete_item(Key={"uid": {"S": uid}})
                    else:
                        batch.put_item(Item=item_of(record))

        try:
            self.backoff.run(write, aws_throttling)
        except Exception as exc:  # noqa: BLE001 - RetriesExhausted or a refusal
            raise self._fail(f"writing {len(changes)} items failed", exc) from None

    def pages(self, filters: Mapping[str, str] | None = None) -> Iterator[list[Record]]:
        """Every record, page by page; ``filters`` (status, planId) narrow it where DynamoDB can:
        a Query of the status (or planId) index, the other filter applied by DynamoDB too."""
        filters = {k: v for k, v in (filters or {}).items() if v}
        names = {f"#{k}": k for k in filters}
        values = {f":{k}": {"S": v} for k, v in filters.items()}
        request: dict[str, Any] = {"TableName": self.table_name}
        if names:
            request.update(ExpressionAttributeNames=names, ExpressionAttributeValues=values)
        indexed = next((k for k in INDEXES if k in filters), None)
        rest = " AND ".join(f"#{k} = :{k}" for k in filters if k != indexed)
        if rest:
            request["FilterExpression"] = rest
        try:
            if indexed:
                request.update(IndexName=INDEXES[indexed], KeyConditionExpression=f"#{indexed} = :{indexed}")
                source = read_pages(self.client, request, operation="query", backoff=self.backoff)
            else:
                source = scan_pages(self.client, request, segments=self.scan_segments, backoff=self.backoff)
            for page in source:
                yield [record_of(item) for item in page]
        except CloudError:
            raise
        except Exception as exc:  # noqa: BLE001 - drivers, Arrow and DuckDB each raise their own classes: one line names the side
            raise self._fail("reading the table failed", exc) from None
