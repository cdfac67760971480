"""Claims extracts with a known truth, and the helpers the claims tests share."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from recon_operators.claims.config import ClaimsConfig, load_claims_config

ROOT = Path(__file__).resolve().parents[2]
DAY = date(2026, 1, 31)
BUNDLED_CONFIG = ROOT / "include" / "config" / "claims" / "daily_claims.yaml"
HEADER = ["DESYNPUF_ID", "CLM_ID", "CLM_FROM_DT", "PRVDR_NUM", "CLM_PMT_AMT", "NOTE"]


def claims_config(moto_server: Any, **changes: Any) -> ClaimsConfig:
    """The bundled config on a fresh bucket pair and a dataset name of its own (isolated rows)."""
    s3 = moto_server.client("s3")
    tag = uuid.uuid4().hex[:8]
    bucket, out = f"claims-in-{tag}", f"claims-out-{tag}"
    s3.create_bucket(Bucket=bucket)
    s3.create_bucket(Bucket=out)
    base = load_claims_config(BUNDLED_CONFIG)
    return dataclasses.replace(base, bucket=bucket, output_bucket=out, dataset=f"claims_t_{tag}", **changes)


def rows(n: int) -> list[list[str]]:
    return [
        [f"{1000 + i:016X}", f"C{i:06d}", f"2026013{i % 2}", f"P{i % 7:03d}", f"{(i * 7) % 500}.50", f"note {i}"]
        for i in range(n)
    ]


def to_csv(header: list[str], body: list[list[str]], newline: str = "\n") -> bytes:
    import csv
    import io

    out = io.StringIO()
    csv.writer(out, lineterminator=newline).writerows([header, *body])
    return out.getvalue().encode("utf-8")


def inbound_key(config: ClaimsConfig, name: str, day: date = DAY) -> str:
    return config.prefixes_for(day).inbound + name


def put(moto_server: Any, config: ClaimsConfig, name: str, body: bytes, day: date = DAY) -> str:
    key = inbound_key(config, name, day)
    moto_server.client("s3").put_object(Bucket=config.bucket, Key=key, Body=body)
    return key


def keys_under(moto_server: Any, bucket: str, prefix: str) -> list[str]:
    listing = moto_server.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def store_rows(conn: Any, config: ClaimsConfig, day: date = DAY) -> dict[str, list[tuple]]:
    """Everything metrics.* holds for the dataset and day, ordered for comparison across runs."""
    queries = {
        "log": "SELECT run_id, status, old_file, new_file, error_message FROM metrics.pipeline_run_log "
        "WHERE dataset = %(d)s AND run_date = %(day)s",
        "summary": "SELECT old_rows, new_rows, matched_keys, missing_in_new, extra_in_new, changed_rows, "
        "duplicate_keys_old, duplicate_keys_new, key_columns FROM metrics.recon_summary "
        "WHERE dataset = %(d)s AND run_date = %(day)s",
        "by_column": "SELECT c.column_name, c.mismatch_count FROM metrics.mismatch_by_column c "
        "JOIN metrics.pipeline_run_log l USING (run_id) WHERE l.dataset = %(d)s "
        "AND l.run_date = %(day)s ORDER BY 1",
        "sample": "SELECT s.key_text, s.mismatch_type, s.payload FROM metrics.mismatch_detail_sample s "
        "JOIN metrics.pipeline_run_log l USING (run_id) WHERE l.dataset = %(d)s "
        "AND l.run_date = %(day)s ORDER BY 2, 1",
    }
    out = {}
    with conn.cursor() as cur:
        for name, sql in queries.items():
            cur.execute(sql, {"d": config.dataset, "day": day})
            out[name] = cur.fetchall()
    conn.commit()
    return out
