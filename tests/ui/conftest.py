"""A reconciliation world for the view's tests, made by the real DAGs, and an api-server over it.

Two small cohorts run through ``dag.test()`` against a results store of their own: cohort A
clean; cohort B clean once, then with faults at the Transform load, so its Mini Recon 1 stop gate
blocks it and its trend has a before and an after. A batch-load job runs once with a worker
losing rows. The api-server shares the session's Airflow
home, so it sees those runs; the store holds nothing but these two cohorts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from recon_operators.demo import services
from recon_operators.demo.load_operators import DEMO_LOADS
from recon_operators.demo.run import COHORT_FAULTS
from tests.airflow_helpers import WebhookReceiver, run_test
from tests.ui.server import ApiServer

ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / "tests" / "artefacts" / "ui"
USERS = {
    "ops": ("viewer", "ops-password-1"),
    "lead": ("admin", "lead-password-1"),
    "a_reader": ("viewer", "a-reader-password-1"),
}
# The demo's Transform faults (5 statuses flipped, 3 balances drifted), for this cohort's one prefix.
B_FAULTS = [{k: v for k, v in fault.items() if k != "prefix"} for fault in COHORT_FAULTS]


@dataclass(frozen=True)
class World:
    env: str
    dags: dict[str, str]  # cohort id -> DAG id
    store_dsn: str
    b_runs: tuple[str, str]  # cohort B: the clean run, then the faulted one
    batch_job: str  # a batch-load job whose worker w03 lost 2 rows


def _cohort_file(tmp_path: Path, cohort_id: str, env: str) -> tuple[Path, str]:
    """The DAG test's small cohort (2 batches of 60), renamed: cohort A or B of its own env."""
    from tests.dags.test_cohort_dag import small_cohort

    config = yaml.safe_load(small_cohort(tmp_path).read_text())
    dag_id = f"recon_ui_{env}_{cohort_id}"
    config.update(cohort_id=cohort_id, env=env, dag_id=dag_id)
    path = tmp_path / f"ui_{cohort_id}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path, dag_id


@pytest.fixture(scope="session")
def ui_store() -> Iterator[str]:
    """A results store holding only this world's rows, migrated."""
    from recon_operators.store import apply_migrations, connect

    name = services.create_pg_database(services.unique_name("recon_t_ui_store"))
    try:
        conn = connect(services.pg_dsn(name))
        try:
            apply_migrations(conn)
        finally:
            conn.close()
        yield services.pg_dsn(name)
    finally:
        services.drop_pg_database(name)


@pytest.fixture(scope="session")
def recon_world(airflow_db, airflow_env, ui_store, tmp_path_factory) -> World:
    from recon_operators.config.cohorts import load_cohort
    from recon_operators.factories.cohort import build_cohort_dag
    from tests.dags.test_batch_load_dag import build, make_job

    env = f"ui{uuid.uuid4().hex[:6]}"
    tmp_path = tmp_path_factory.mktemp("ui_cohorts")
    receiver = WebhookReceiver()
    dags: dict[str, str] = {}
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("AIRFLOW_CONN_RECON_STORE", ui_store)
            patch.setenv("AIRFLOW_CONN_SLACK_ALERTS", receiver.airflow_conn())
            for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
                patch.delenv(name, raising=False)
            built = {}
            for cohort_id in ("A", "B"):
                path, dags[cohort_id] = _cohort_file(tmp_path, cohort_id, env)
                built[cohort_id] = build_cohort_dag(load_cohort(path), DEMO_LOADS)
            assert run_test(built["A"], run_conf={"faults": []}).state == "success"
            clean = run_test(built["B"], run_conf={"faults": []})
            faulted = run_test(built["B"], run_conf={"faults": B_FAULTS})
            assert (clean.state, faulted.state) == ("success", "failed")
            job_path = make_job(tmp_path, env=env)
            lost_rows = run_test(build(job_path), run_conf={"faults": [{"kind": "drop_rows", "worker": "w03", "n": 2}]})
            assert lost_rows.state == "failed"
    finally:
        receiver.close()
    return World(env, dags, ui_store, (clean.run_id, faulted.run_id), yaml.safe_load(job_path.read_text())["job"])


@pytest.fixture(scope="session")
def api_server(recon_world, airflow_db) -> Iterator[ApiServer]:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    server = ApiServer(
        airflow_db,
        USERS,
        {
            "AIRFLOW_CONN_RECON_STORE": recon_world.store_dsn,
            "AIRFLOW__CORE__AUTH_MANAGER": "tests.ui.restricted_auth.CohortAReaderAuthManager",
        },
        ARTEFACTS / "api-server.log",
    ).start()
    try:
        yield server
    finally:
        server.stop()
