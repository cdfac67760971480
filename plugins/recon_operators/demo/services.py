"""Local services for the demo and the tests: loopback Postgres/MariaDB databases and moto.

Each caller works in databases it creates and drops, so two runs never collide and a rerun
starts clean. Nothing here is used in production (tests/unit/test_demo_apart.py holds it so);
the demo, the benchmarks and the tests share it.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import uuid
from contextlib import closing
from dataclasses import dataclass
from typing import Any

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
MARIADB_HOST, MARIADB_PORT, MARIADB_USER = "127.0.0.1", 3306, "root"

PG_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
MARIADB_START = "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd"

_DB_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class ServiceUnavailable(RuntimeError):
    """A local service is down; the message names the command that starts it."""


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def _check_name(name: str) -> str:
    if not _DB_NAME.match(name):
        raise ValueError(f"database name {name!r} must be lower_snake_case")
    return name


def pg_dsn(database: str = "postgres") -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


def _pg_admin() -> Any:
    import psycopg2

    try:
        conn = psycopg2.connect(pg_dsn(), connect_timeout=3)
    except psycopg2.OperationalError:
        raise ServiceUnavailable(
            f"Postgres is not reachable on {PG_HOST}:{PG_PORT}; start it with: {PG_START}"
        ) from None
    conn.autocommit = True
    return conn


def _mariadb_admin() -> Any:
    import MySQLdb

    try:
        return MySQLdb.connect(host=MARIADB_HOST, port=MARIADB_PORT, user=MARIADB_USER, passwd="", connect_timeout=3)
    except MySQLdb.OperationalError:
        raise ServiceUnavailable(
            f"MariaDB is not reachable on {MARIADB_HOST}:{MARIADB_PORT}; start it with: {MARIADB_START}"
        ) from None


def create_pg_database(name: str, *, replace: bool = False) -> str:
    """Create a Postgres database (dropping a leftover of the same name when asked)."""
    _check_name(name)
    with closing(_pg_admin()) as conn, conn.cursor() as cur:
        if replace:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_pg_database(name: str) -> None:
    _check_name(name)
    with closing(_pg_admin()) as conn, conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_mariadb_database(name: str, *, replace: bool = False) -> str:
    _check_name(name)
    with closing(_mariadb_admin()) as conn:
        cur = conn.cursor()
        if replace:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    return name


def drop_mariadb_database(name: str) -> None:
    _check_name(name)
    with closing(_mariadb_admin()) as conn:
        conn.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class MotoServer:
    """moto in server mode on a free loopback port: S3, SNS, DynamoDB for tests and the demo."""

    port: int = 0
    region: str = "us-east-1"
    _server: Any = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> MotoServer:
        """Start moto in its own process: an in-process server would compete for the GIL with the
        code under test (DuckDB scanning an S3 dataset holds it) and stall."""
        self.port = self.port or free_port()
        self._server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._server.poll() is not None:
                raise ServiceUnavailable(f"moto server exited with code {self._server.returncode}")
            with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.1)
        self.stop()
        raise ServiceUnavailable(f"moto server did not start on 127.0.0.1:{self.port} within {timeout:.0f} s")

    def stop(self) -> None:
        if self._server is not None:
            self._server.terminate()
            try:
                self._server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._server.kill()
            self._server = None

    def airflow_conn(self) -> str:
        """``AIRFLOW_CONN_AWS_DEFAULT`` value pointing Airflow's AWS hooks at this server."""
        return json.dumps(
            {
                "conn_type": "aws",
                "login": "testing",
                "password": "testing",
                "extra": {"endpoint_url": self.endpoint_url, "region_name": self.region},
            }
        )

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


def airflow_conn_env(
    store_db: str, transform_db: str, stage_db: str, moto: MotoServer | None, target_db: str | None = None
) -> dict[str, str]:
    """The ``AIRFLOW_CONN_*`` variables the DAGs, the CLI and the tests read."""
    env = {
        "AIRFLOW_CONN_RECON_STORE": pg_dsn(store_db),
        "AIRFLOW_CONN_TRANSFORM_PG": pg_dsn(transform_db),
        "AIRFLOW_CONN_STAGE_MYSQL": f"mysql://{MARIADB_USER}@{MARIADB_HOST}:{MARIADB_PORT}/{stage_db}",
    }
    if target_db is not None:
        env["AIRFLOW_CONN_TARGET_PG"] = pg_dsn(target_db)
    if moto is not None:
        env["AIRFLOW_CONN_AWS_DEFAULT"] = moto.airflow_conn()
    return env
