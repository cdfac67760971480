"""The same subscriber data written to Postgres, MariaDB and files, with optional faults."""

from __future__ import annotations

import copy
import csv
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import MySQLdb
import psycopg2

COLUMNS = ("msisdn", "imsi", "cohort_id", "prefix", "batch_id", "status", "plan", "balance", "activated_at", "email")


def subscribers(n: int = 40) -> list[dict[str, Any]]:
    statuses = ("ACTIVE", "SUSPENDED", "TERMINATED")
    rows = []
    for i in range(n):
        rows.append(
            {
                "msisdn": f"62811{i:07d}",
                "imsi": f"51010{i:010d}",
                "cohort_id": "C1",
                "prefix": "62811",
                "batch_id": str(1 + i % 2),
                "status": statuses[i % 3],
                "plan": "PREPAID" if i % 4 else "POSTPAID",
                "balance": Decimal(f"{i * 3}.{i % 100:02d}"),
                "activated_at": datetime(2024, 1, 1, 8, 0, 0) + timedelta(hours=i),
                "email": f"user{i}@example.com" if i % 5 else "",
            }
        )
    return rows


def faulted(rows: list[dict[str, Any]], **faults: Any) -> list[dict[str, Any]]:
    """Copy with faults: drop=i, amount=(i, delta), status=(i, new), pad=i, null_email=i, tz=(i, hours)."""
    out = copy.deepcopy(rows)
    if "amount" in faults:
        i, delta = faults["amount"]
        out[i]["balance"] += Decimal(delta)
    if "status" in faults:
        i, new = faults["status"]
        out[i]["status"] = new
    if "pad" in faults:
        out[faults["pad"]]["status"] += "  "
    if "null_email" in faults:
        out[faults["null_email"]]["email"] = None
    if "tz" in faults:
        i, hours = faults["tz"]
        out[i]["activated_at"] += timedelta(hours=hours)
    if "drop" in faults:
        del out[faults["drop"]]
    return out


def table_name() -> str:
    return f"subs_{uuid.uuid4().hex[:8]}"


_PG_DDL = """CREATE TABLE {t} (msisdn varchar(20), imsi varchar(20), cohort_id text, prefix text, batch_id text,
 status varchar(20), plan text, balance numeric(14,2), activated_at timestamp, email text)"""
_MY_DDL = """CREATE TABLE {t} (msisdn varchar(20), imsi varchar(20), cohort_id varchar(10), prefix varchar(10),
 batch_id varchar(10), status varchar(20), plan varchar(20), balance decimal(14,3), activated_at datetime,
 email varchar(100)) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"""


def write_postgres(dsn: str, table: str, rows: list[dict[str, Any]]) -> None:
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cur:
        cur.execute(_PG_DDL.format(t=table))
        cur.executemany(
            f"INSERT INTO {table} VALUES ({', '.join(['%s'] * len(COLUMNS))})",
            [tuple(r[c] for c in COLUMNS) for r in rows],
        )
    conn.close()


def write_mariadb(database: str, table: str, rows: list[dict[str, Any]]) -> None:
    """Deliberately different storage: decimal(14,3) ('1.100' vs '1.10'), case-insensitive collation."""
    conn = MySQLdb.connect(host="127.0.0.1", user="root", passwd="", db=database, charset="utf8mb4")
    cur = conn.cursor()
    cur.execute(_MY_DDL.format(t=table))
    cur.executemany(
        f"INSERT INTO {table} VALUES ({', '.join(['%s'] * len(COLUMNS))})", [tuple(r[c] for c in COLUMNS) for r in rows]
    )
    conn.commit()
    conn.close()


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for r in rows:
            writer.writerow(
                [
                    "" if r[c] is None else (r[c].isoformat(sep=" ") if isinstance(r[c], datetime) else r[c])
                    for c in COLUMNS
                ]
            )
    return path
