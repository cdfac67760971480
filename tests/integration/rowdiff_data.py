"""Row diff fixtures: the same rows written to Postgres and MariaDB in different column types."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import MySQLdb
import psycopg2

from recon_operators.demo.services import MARIADB_HOST, MARIADB_PORT, MARIADB_USER, pg_dsn

COLUMNS = ("msisdn", "batch", "plan", "balance", "rate", "activated_at", "seen_at", "born", "status", "email", "note")

# Cosmetic differences on purpose: char(8) vs varchar, numeric(14,2) vs decimal(14,3), double vs
# decimal(10,4), timestamp vs datetime, timestamptz vs timestamp, text vs varchar.
PG_DDL = """CREATE TABLE {t} (msisdn varchar(20), batch integer, plan char(8), balance numeric(14,2),
 rate double precision, activated_at timestamp, seen_at timestamptz, born date, status varchar(20), email text,
 note text)"""
MY_DDL = """CREATE TABLE {t} (msisdn varchar(20), batch varchar(5), plan varchar(8), balance decimal(14,3),
 rate decimal(10,4), activated_at datetime, seen_at timestamp NULL, born date, status varchar(20),
 email varchar(100), note varchar(50)) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"""


def rows(n: int = 30) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        out.append(
            {
                "msisdn": f"62812{i:08d}",
                "batch": 1 + i % 2,
                "plan": "GOLD" if i % 2 else "SILVER",
                "balance": Decimal(f"{i}.{(i * 7) % 100:02d}"),
                "rate": (i % 4) / 4,
                "activated_at": datetime(2024, 3, 1, 9, 30) + timedelta(hours=i),
                "seen_at": datetime(2024, 5, 1, 12, 0, tzinfo=UTC) + timedelta(minutes=i),
                "born": date(1990, 1, 1) + timedelta(days=i * 40),
                "status": ("ACTIVE", "IDLE", "BARRED")[i % 3],
                "email": f"user{i}@example.com",
                "note": None if i % 5 == 0 else f'note {i}, with "quotes"',
            }
        )
    return out


def changed(data: list[dict[str, Any]], index: int, **values: Any) -> list[dict[str, Any]]:
    out = copy.deepcopy(data)
    out[index].update(values)
    return out


def table() -> str:
    return f"rd_{uuid.uuid4().hex[:8]}"


def _values(data: list[dict[str, Any]], mysql: bool) -> list[tuple]:
    def value(row: dict[str, Any], column: str) -> Any:
        v = row[column]
        if mysql and isinstance(v, datetime) and v.tzinfo is not None:
            return v.astimezone(UTC).replace(tzinfo=None)  # the session is UTC
        return v

    return [tuple(value(r, c) for c in COLUMNS) for r in data]


def write_postgres(database: str, name: str, data: list[dict[str, Any]], ddl: str = PG_DDL) -> None:
    conn = psycopg2.connect(pg_dsn(database))
    with conn, conn.cursor() as cur:
        cur.execute(ddl.format(t=name))
        cur.executemany(f"INSERT INTO {name} VALUES ({', '.join(['%s'] * len(COLUMNS))})", _values(data, False))
    conn.close()


def mariadb_connect(database: str) -> Any:
    return MySQLdb.connect(
        host=MARIADB_HOST, port=MARIADB_PORT, user=MARIADB_USER, passwd="", db=database, charset="utf8mb4"
    )


def write_mariadb(database: str, name: str, data: list[dict[str, Any]], ddl: str = MY_DDL) -> None:
    conn = mariadb_connect(database)
    try:
        cur = conn.cursor()
        cur.execute("SET time_zone = '+00:00'")
        cur.execute(ddl.format(t=name))
        cur.executemany(f"INSERT INTO {name} VALUES ({', '.join(['%s'] * len(COLUMNS))})", _values(data, True))
        conn.commit()
    finally:
        conn.close()


def pg_url(database: str, name: str) -> str:
    return f"{pg_dsn(database)}?table={name}"


def mariadb_url(database: str, name: str) -> str:
    return f"mysql://{MARIADB_USER}@{MARIADB_HOST}:{MARIADB_PORT}/{database}?table={name}"
