"""Test session set-up: isolated Airflow home, real loopback databases, moto on a free port.

Airflow reads its settings when first imported, so the environment is fixed here, before any
test module imports it. Each session creates its own databases and drops them at the end.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))
# Every process a test starts (the CLI, Airflow's scheduler and api-server, Spark's Python) imports
# this checkout's code first: the venv's editable install may point at another checkout.
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(ROOT), str(ROOT / "plugins"), os.environ.get("PYTHONPATH", "")) if p
)

_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="recon-test-airflow-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(_AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(_AIRFLOW_HOME / "logs"),
        "RECON_PROJECT_ROOT": str(ROOT),
        # moto and boto3 must never find real credentials or reach AWS.
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        # One small local Spark for the whole session (engine.spark.session): two cores, few shuffles.
        "RECON_SPARK_MASTER": "local[2]",
        "RECON_SPARK_SHUFFLE_PARTITIONS": "4",
        "RECON_SPARK_DRIVER_MEMORY": "1g",
    }
)
os.environ.pop("RECON_STORE_DSN", None)

from recon_operators.demo import services  # noqa: E402  (needs sys.path above)


@pytest.fixture(scope="session")
def databases() -> Iterator[dict[str, str]]:
    """This session's own databases: results store, transformation (Postgres), stage (MariaDB)."""
    try:
        store = services.create_pg_database(services.unique_name("recon_t_store"))
        transform = services.create_pg_database(services.unique_name("recon_t_transform"))
        stage = services.create_mariadb_database(services.unique_name("recon_t_stage"))
        target = services.create_pg_database(services.unique_name("recon_t_target"))
    except services.ServiceUnavailable as exc:
        pytest.exit(str(exc), returncode=2)
    try:
        yield {"store": store, "transform": transform, "stage": stage, "target": target}
    finally:
        services.drop_pg_database(store)
        services.drop_pg_database(transform)
        services.drop_pg_database(target)
        services.drop_mariadb_database(stage)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[services.MotoServer]:
    server = services.MotoServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def airflow_env(databases: dict[str, str], moto_server: services.MotoServer) -> dict[str, str]:
    """``AIRFLOW_CONN_*`` for this session's databases and moto, exported for hooks and CLI."""
    env = services.airflow_conn_env(
        databases["store"], databases["transform"], databases["stage"], moto_server, target_db=databases["target"]
    )
    os.environ.update(env)
    return env


@pytest.fixture(scope="session")
def store_dsn(databases: dict[str, str]) -> str:
    """The session's results store, migrated once."""
    from recon_operators.store import apply_migrations, connect

    dsn = services.pg_dsn(databases["store"])
    conn = connect(dsn)
    try:
        apply_migrations(conn)
    finally:
        conn.close()
    return dsn


def _pg_connection(dsn: str) -> Iterator[object]:
    import psycopg2

    conn = psycopg2.connect(dsn)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def store_conn(store_dsn: str) -> Iterator[object]:
    """A psycopg2 connection to the session's migrated results store, closed after the test."""
    yield from _pg_connection(store_dsn)


@pytest.fixture
def transform_conn(databases: dict[str, str]) -> Iterator[object]:
    """A psycopg2 connection to the session's transformation database, closed after the test."""
    yield from _pg_connection(services.pg_dsn(databases["transform"]))


@pytest.fixture
def fresh_pg_database() -> Iterator[str]:
    """An empty Postgres database for one test (migration tests need a blank slate)."""
    name = services.create_pg_database(services.unique_name("recon_t_blank"))
    try:
        yield name
    finally:
        services.drop_pg_database(name)


@pytest.fixture
def slack_receiver(airflow_db, airflow_env, store_dsn, monkeypatch) -> Iterator[object]:
    """For dag.test runs: Airflow connections to this session's store and to a local Slack webhook
    receiver (yielded; its ``bodies`` are the alerts sent), proxies off so alerts reach it."""
    from recon_operators.demo.receiver import WebhookReceiver

    receiver = WebhookReceiver()
    monkeypatch.setenv("AIRFLOW_CONN_RECON_STORE", store_dsn)
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_ALERTS", receiver.airflow_conn())
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    try:
        yield receiver
    finally:
        receiver.close()


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Airflow's SQLite metadata DB, migrated once per test session."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], check=True, stdout=subprocess.DEVNULL, env=os.environ.copy()
    )
    return _AIRFLOW_HOME
