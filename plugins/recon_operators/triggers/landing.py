"""Wait for a file to land in S3 from the triggerer, so a late extract costs no worker slot.

The amazon provider's deferrable S3 sensor needs aiobotocore, whose botocore pin conflicts with
the boto3 this project pins; this trigger uses plain boto3 in a worker thread instead
(``asyncio.to_thread``, as the ledger trigger does with psycopg2), so the triggerer's shared
event loop never blocks on S3. Which keys match is ``matching_keys``, shared with the sensor's
synchronous first look so both decide alike.
"""

from __future__ import annotations

import asyncio
import fnmatch
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

from airflow.sdk import BaseHook
from airflow.triggers.base import BaseTrigger, TriggerEvent

LANDED = "landed"
TIMEOUT = "timeout"
_NAMED = 5  # keys named in a message, then "+N more"


def _literal_prefix(key: str) -> str:
    """The part of a key pattern before its first wildcard: what S3 can list by prefix."""
    cut = min((i for i in (key.find("*"), key.find("?"), key.find("[")) if i >= 0), default=len(key))
    return key[:cut]


def matching_keys(client: Any, bucket: str, key: str, wildcard: bool) -> list[str]:
    """Keys in ``bucket`` equal to ``key`` (or matching it as a glob when ``wildcard``), sorted.

    Zero-byte objects are ignored: an extract that is still being written or a folder marker
    is not a landed file.
    """
    prefix = _literal_prefix(key) if wildcard else key
    found: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            name = item["Key"]
            hit = fnmatch.fnmatchcase(name, key) if wildcard else name == key
            if hit and item.get("Size", 0) > 0:
                found.append(name)
    return sorted(found)


def describe(bucket: str, keys: Iterable[str]) -> str:
    names = [f"s3://{bucket}/{k}" for k in keys]
    more = len(names) - _NAMED
    return ", ".join(names[:_NAMED]) + (f" +{more} more" if more > 0 else "")


def s3_client_for(conn: Any) -> Any:
    """A boto3 S3 client from an already fetched Airflow AWS connection (keys, region, endpoint).

    Without keys in the connection boto3's default chain applies (instance role, env, IRSA).
    """
    import boto3
    from airflow.providers.amazon.aws.utils.connection_wrapper import AwsConnectionWrapper

    wrapped = AwsConnectionWrapper(conn)
    session = boto3.session.Session(
        aws_access_key_id=wrapped.aws_access_key_id,
        aws_secret_access_key=wrapped.aws_secret_access_key,
        aws_session_token=wrapped.aws_session_token,
        region_name=wrapped.region_name,
    )
    return session.client("s3", endpoint_url=wrapped.get_service_endpoint_url("s3"))


class LandingTrigger(BaseTrigger):
    """Fire once a matching object exists in S3, or when the absolute ``deadline`` passes.

    Events: ``{"status": "landed", "keys": [...], "polls": n}`` or ``{"status": "timeout",
    "message": "..."}``. Only the connection id is serialized, never credentials.
    """

    def __init__(
        self,
        *,
        bucket: str,
        key: str,
        wildcard: bool = False,
        aws_conn_id: str = "aws_default",
        poll_interval: float = 60.0,
        deadline: float | None = None,
    ) -> None:
        super().__init__()
        self.bucket = bucket
        self.key = key
        self.wildcard = bool(wildcard)
        self.aws_conn_id = aws_conn_id
        self.poll_interval = float(poll_interval)
        self.deadline = deadline

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "bucket": self.bucket,
                "key": self.key,
                "wildcard": self.wildcard,
                "aws_conn_id": self.aws_conn_id,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        conn = await BaseHook.aget_connection(self.aws_conn_id)
        client = await asyncio.to_thread(s3_client_for, conn)
        polls = 0
        last_error: str | None = None
        while True:
            polls += 1
            try:
                keys = await asyncio.to_thread(matching_keys, client, self.bucket, self.key, self.wildcard)
            except Exception as exc:  # noqa: BLE001 - S3 hiccups are retried until the deadline
                last_error = f"{type(exc).__name__}: {exc}".splitlines()[0]
                self.log.warning("landing s3://%s/%s: poll %d failed: %s", self.bucket, self.key, polls, last_error)
            else:
                last_error = None
                if keys:
                    yield TriggerEvent({"status": LANDED, "keys": keys, "polls": polls})
                    return
            remaining = None if self.deadline is None else self.deadline - time.time()
            if remaining is not None and remaining <= 0:
                message = f"nothing landed at s3://{self.bucket}/{self.key} before the deadline ({polls} polls)"
                if last_error:
                    message += f"; last S3 error: {last_error}"
                yield TriggerEvent({"status": TIMEOUT, "message": message, "polls": polls})
                return
            await asyncio.sleep(self.poll_interval if remaining is None else min(self.poll_interval, remaining))
