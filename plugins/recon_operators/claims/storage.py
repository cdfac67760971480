"""The S3 side of a claims run over a plain boto3 client: list a day's prefix, read a file's
first bytes or stream it, write artifacts, and move inputs to the processed prefix.

A boto3 client (not an Airflow hook) so the same code runs in the DAG, in tests against moto
and from any script.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from typing import Any, BinaryIO

HEAD_BYTES = 1 << 20  # enough for any header line; a longer one is reported, not guessed at


def list_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    """Every object under ``prefix`` (zero-byte ones too: an empty delivery is a file to report)."""
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return sorted(keys)


def read_head(s3: Any, bucket: str, key: str) -> tuple[bytes, bool]:
    """The first ``HEAD_BYTES`` of an object, and whether that is the whole object."""
    size = s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
    if size == 0:
        return b"", True
    body = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{HEAD_BYTES - 1}")["Body"].read()
    return body, size <= HEAD_BYTES


def open_stream(s3: Any, bucket: str, key: str) -> BinaryIO:
    """The object's body as a stream (read in chunks; never held whole in memory)."""
    return s3.get_object(Bucket=bucket, Key=key)["Body"]


def put_text(s3: Any, bucket: str, key: str, text: str, content_type: str = "text/csv") -> str:
    s3.put_object(Bucket=bucket, Key=key, Body=text.encode("utf-8"), ContentType=content_type)
    return f"s3://{bucket}/{key}"


def move_all(s3: Any, bucket: str, keys: Iterable[str], destination_prefix: str) -> list[str]:
    """Copy every key to ``destination_prefix`` first, then delete the originals.

    Copy-all-then-delete: if a copy fails nothing was removed, so the inbound prefix still holds
    the complete pair and a rerun starts from it.
    """
    moved = [(key, destination_prefix + posixpath.basename(key)) for key in keys]
    for source, target in moved:
        s3.copy_object(Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": source})
    for source, _ in moved:
        s3.delete_object(Bucket=bucket, Key=source)
    return [target for _, target in moved]


def s3_url(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"
