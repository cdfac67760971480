"""End to end under a real scheduler, as users run it (issue #14).

One Airflow 3 deployment (api-server, scheduler with LocalExecutor and parallelism 4,
dag-processor, triggerer; a Postgres metadata database of its own), moto and a Slack webhook
receiver. Everything is driven through the REST API:

* a clean cohort (3 batches loading in parallel at every hop) runs 3 times in a row: every run
  succeeds, every gate passes and emits its verified Asset event;
* a faulted cohort runs twice: a Transform fault stops it at ``gate_mini_recon_1`` (the failed
  task), Blocked in the ledger, one alert; a Stage fault parks ``gate_mini_recon_2`` for approval,
  answered (as soon as it asks) through the HITL endpoint by user ``approver``, whom the ledger
  records;
* the daily claims DAG, unpaused, schedules today's business day: its sensor waits deferred
  (the landing window runs to tomorrow 12:00 UTC) until the files land, then reconciles; a
  backfill of two past days logs one SUCCESS and one NO_FILES;
* no task instance of any of these runs needed a retry.

The runs of the three DAGs proceed side by side; the tests below check them in turn.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from recon_operators.demo import services
from recon_operators.demo.receiver import WebhookReceiver
from tests.airflow_helpers import query
from tests.e2e.stack import AirflowStack
from tests.integration.claims_data import HEADER, rows, to_csv

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(3600)]

ROOT = Path(__file__).resolve().parents[2]
CLEAN, FAULTED = "EC", "EF"
CLEAN_DAG, FAULTED_DAG, CLAIMS_DAG = f"recon_cohort_{CLEAN}", f"recon_cohort_{FAULTED}", "recon_claims"
CLEAN_RUNS = 3
CLEAN_BATCHES = 3  # loading at once at every hop (parallelism 4): what used to deadlock
RUN_TIMEOUT = 1800  # seconds per run: generous, the machine may be busy
STAGES = ("mini_recon_1", "mini_recon_2", "mini_recon_3", "overall_summary", "etl_stage_report")
TRANSFORM_FAULT = [
    {
        "stage": "transform",
        "kind": "flip",
        "dataset": "subscribers",
        "column": "subscriber_status",
        "to_value": "BARRED",
        "prefix": "62818",
        "n": 3,
    }
]
STAGE_FAULT = [{"stage": "stage", "kind": "drop", "dataset": "subscribers", "n": 2}]


def cohort_file(cohort_id: str, prefix: str, batches: int, policies: dict[str, str]) -> dict[str, Any]:
    """The demo cohort's config, shrunk: one prefix of ``batches`` adjacent 50-MSISDN batches (the
    parallel loads that used to deadlock), fewer suites per stage (fewer tasks on 2 cores)."""
    config = yaml.safe_load((ROOT / "include/config/cohorts/cohort_a.yaml").read_text())
    base = int(prefix) * 10_000_000
    config.update(
        cohort_id=cohort_id,
        env="e2e",
        tags=["recon", "e2e"],
        prefixes=[
            {
                "prefix_id": f"P{prefix}",
                "prefix": prefix,
                "batches": [
                    {
                        "batch_id": f"B{i + 1:03d}",
                        "msisdn_start": str(base + 50 * i),
                        "msisdn_end": str(base + 50 * i + 49),
                    }
                    for i in range(batches)
                ],
            }
        ],
    )
    stages = config["stages"]
    for stage in ("mini_recon_1", "mini_recon_2", "mini_recon_3"):  # the BRM leg stays (its own tasks)
        stages[stage]["suites"] = [f"cohort_{stage}.yaml"]
    for stage, policy in policies.items():
        stages[stage]["policy"] = policy
        if policy == "approve":
            stages[stage]["approval_timeout_minutes"] = 60
    return config


@pytest.fixture(scope="module")
def workdir(request: pytest.FixtureRequest) -> Iterator[Path]:
    """The deployment's folder (AIRFLOW_HOME, config, component logs). Not pytest's tmp_path: other
    sessions on the machine prune old pytest folders, and the task processes read from this one.
    Removed afterwards unless a test failed (then the logs are there to read)."""
    folder = Path(tempfile.mkdtemp(prefix="recon-e2e-"))
    failed_before = request.session.testsfailed
    yield folder
    if request.session.testsfailed == failed_before:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        print(f"\ne2e deployment kept for inspection: {folder} (component logs: *.log)")


@pytest.fixture(scope="module")
def config_dir(workdir: Path) -> tuple[Path, dict[str, Any]]:
    """include/config with the two e2e cohorts instead of the demo's, and a quick-polling claims DAG."""
    folder = workdir / "config"
    shutil.copytree(ROOT / "include/config", folder)
    for old in (folder / "cohorts").glob("*.yaml"):
        old.unlink()
    stop_all = dict.fromkeys(("mini_recon_1", "mini_recon_2", "mini_recon_3"), "stop")
    (folder / "cohorts/e2e_clean.yaml").write_text(yaml.safe_dump(cohort_file(CLEAN, "62817", CLEAN_BATCHES, stop_all)))
    (folder / "cohorts/e2e_faulted.yaml").write_text(
        yaml.safe_dump(
            cohort_file(FAULTED, "62818", 2, {**stop_all, "mini_recon_2": "approve", "overall_summary": "warn"})
        )
    )
    claims = yaml.safe_load((folder / "claims/daily_claims.yaml").read_text())
    tag = uuid.uuid4().hex[:8]
    claims.update(dataset=f"claims_e2e_{tag}")
    claims["s3"].update(bucket=f"e2e-claims-in-{tag}", output_bucket=f"e2e-claims-out-{tag}")
    claims["landing"]["poke_seconds"] = 3
    (folder / "claims/daily_claims.yaml").write_text(yaml.safe_dump(claims))
    return folder, claims


@pytest.fixture(scope="module")
def deployment(workdir, config_dir, databases, store_dsn, moto_server) -> Iterator[dict[str, Any]]:
    """The running deployment with every run of the scenario started; stopped whatever happens."""
    folder, claims = config_dir
    for bucket in (claims["s3"]["bucket"], claims["s3"]["output_bucket"]):
        moto_server.client("s3").create_bucket(Bucket=bucket)
    receiver = WebhookReceiver()
    env = {
        **services.airflow_conn_env(
            databases["store"], databases["transform"], databases["stage"], moto_server, target_db=databases["target"]
        ),
        "AIRFLOW_CONN_SLACK_ALERTS": receiver.airflow_conn(),
        "RECON_CONFIG_DIR": str(folder),
        "RECON_PROJECT_ROOT": str(ROOT),
    }
    stack = AirflowStack(home=workdir / "airflow", dags_folder=ROOT / "dags", extra_env=env)
    try:
        stack.start()
        stack.wait_for_dags([CLEAN_DAG, FAULTED_DAG, CLAIMS_DAG], timeout=900)  # also unpauses them
        today = datetime.now(UTC).date()
        past = [today - timedelta(days=3), today - timedelta(days=2)]
        put_claims(moto_server, claims, past[0])  # the earlier backfilled day has its files, the later none
        runs = {
            # max_active_runs=1: each cohort's runs queue and run one after another, as scheduled.
            "clean": [stack.trigger(CLEAN_DAG, {"faults": []}) for _ in range(CLEAN_RUNS)],
            "blocked": stack.trigger(FAULTED_DAG, {"faults": TRANSFORM_FAULT}),
            "approved": stack.trigger(FAULTED_DAG, {"faults": STAGE_FAULT}),
            "backfill": stack.api(
                "POST",
                "/backfills",
                json={
                    "dag_id": CLAIMS_DAG,
                    "from_date": f"{past[0]}T00:00:00Z",
                    "to_date": f"{past[1]}T00:00:00Z",
                    "max_active_runs": 2,
                },
            ),
        }
        approval = answer_when_asked(stack, FAULTED_DAG, runs["approved"], "gate_mini_recon_2", "Approve", "approver")
        yield {
            "stack": stack,
            "runs": runs,
            "receiver": receiver,
            "moto": moto_server,
            "claims": claims,
            "today": today,
            "past": past,
            "store": store_dsn,
            "approval": approval,
        }
    finally:
        stack.stop()
        receiver.close()


def answer_when_asked(
    stack: AirflowStack, dag_id: str, run_id: str, task_id: str, option: str, user: str
) -> dict[str, Any]:
    """In the background, as the approver would: once ``task_id`` waits for input, read its request
    and answer ``option`` through the HITL endpoint. Fills the returned dict (``detail``, ``error``)."""
    seen: dict[str, Any] = {}
    path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/-1/hitlDetails"

    def parked() -> bool:
        state = next((ti["state"] for ti in stack.task_instances(dag_id, run_id) if ti["task_id"] == task_id), None)
        if state in ("success", "failed", "upstream_failed", "skipped"):
            raise AssertionError(f"{task_id} ended {state} without asking")
        return state == "awaiting_input"

    def answer() -> None:
        try:
            stack.wait(parked, RUN_TIMEOUT, f"{task_id} to ask for approval", interval=3)
            # A person answers after reading the request, not in the same second: an answer that
            # resumes the gate before the scheduler has handled its pause fails it (Airflow race).
            stack.wait(
                lambda: stack.scheduler_processed(dag_id, task_id, run_id, "awaiting_input"),
                300,
                f"the scheduler to see {task_id} waiting",
                interval=3,
            )
            seen["detail"] = stack.api("GET", path)
            stack.api("PATCH", path, user=user, json={"chosen_options": [option], "params_input": {}})
        except Exception as exc:  # noqa: BLE001 - the test reports it
            seen["error"] = f"{type(exc).__name__}: {exc}"

    threading.Thread(target=answer, daemon=True).start()
    return seen


def put_claims(moto_server: Any, claims: dict[str, Any], day: date) -> None:
    """The day's OLD and NEW extracts (the NEW one lost one row) in the day's inbound prefix."""
    prefix = claims["s3"]["inbound_prefix"].replace("{ds}", day.isoformat())
    s3 = moto_server.client("s3")
    s3.put_object(Bucket=claims["s3"]["bucket"], Key=f"{prefix}claims_{day:%Y%m%d}.csv", Body=to_csv(HEADER, rows(12)))
    s3.put_object(
        Bucket=claims["s3"]["bucket"], Key=f"{prefix}claims_{day:%Y%m%d}_NEWSYSTEM.csv", Body=to_csv(HEADER, rows(11))
    )


def states(stack: AirflowStack, dag_id: str, run_id: str) -> dict[str, set[str]]:
    """Task id -> the states of its instances (mapped tasks have several)."""
    out: dict[str, set[str]] = {}
    for ti in stack.task_instances(dag_id, run_id):
        out.setdefault(ti["task_id"], set()).add(ti["state"])
    return out


def gate_decisions(store: str, cohort: str, run_id: str) -> dict[str, tuple]:
    return {
        stage: (outcome, decided_by)
        for stage, outcome, decided_by in query(
            store,
            "SELECT stage, outcome, decided_by FROM recon.gate_decision WHERE scope->>'cohort_id' = %s "
            "AND run_id = %s ORDER BY id",
            cohort,
            f"recon_cohort_{cohort}/{run_id}",
        )
    }


def alerts_of(receiver: WebhookReceiver, cohort: str) -> list[str]:
    return [body.get("text", "") for body in receiver.bodies if f"cohort *{cohort}*" in body.get("text", "")]


def test_a_clean_cohort_succeeds_three_times_in_a_row(deployment):
    stack, store = deployment["stack"], deployment["store"]
    for run_id in deployment["runs"]["clean"]:
        assert stack.wait_for_run(CLEAN_DAG, run_id, RUN_TIMEOUT) == "success", states(stack, CLEAN_DAG, run_id)
        assert gate_decisions(store, CLEAN, run_id) == {stage: ("Passed", None) for stage in STAGES}
        loads = [ti for ti in stack.task_instances(CLEAN_DAG, run_id) if ti["task_id"].startswith("load_")]
        assert len(loads) == 3 * CLEAN_BATCHES and {ti["state"] for ti in loads} == {"success"}
    last = deployment["runs"]["clean"][-1]
    # The ledger holds one current row per check and scope, from the last run; earlier runs' rows
    # went to history (a rerun replaces, never duplicates).
    current = query(
        store,
        "SELECT count(*), bool_and(run_id LIKE %s), bool_and(status = 'Match') "
        "FROM recon.check_result WHERE cohort_id = %s",
        f"%{last}%",
        CLEAN,
    )[0]
    assert current[0] > 0 and current[1:] == (True, True)
    replaced = query(store, "SELECT count(*) FROM recon.check_result_history WHERE cohort_id = %s", CLEAN)[0][0]
    assert replaced == current[0] * (CLEAN_RUNS - 1)
    batches = query(
        store,
        "SELECT count(DISTINCT batch_id) FROM recon.check_result WHERE cohort_id = %s AND stage = 'mini_recon_2'",
        CLEAN,
    )
    assert batches == [(CLEAN_BATCHES,)]
    assert alerts_of(deployment["receiver"], CLEAN) == []
    events = stack.api("GET", "/assets/events", params={"source_dag_id": CLEAN_DAG, "limit": 100})["asset_events"]
    verified = sorted((e["uri"], e["extra"]["outcome"]) for e in events if e["source_run_id"] == last)
    assert verified == sorted((f"x-recon://e2e/{CLEAN}/{stage}", "Passed") for stage in STAGES)
    assert len(events) == CLEAN_RUNS * len(STAGES)


def test_a_faulted_cohort_stops_at_its_gate(deployment):
    stack, store, run_id = deployment["stack"], deployment["store"], deployment["runs"]["blocked"]
    assert stack.wait_for_run(FAULTED_DAG, run_id, RUN_TIMEOUT) == "failed"
    got = states(stack, FAULTED_DAG, run_id)
    assert got["gate_mini_recon_1"] == {"failed"}  # the task that stopped the run
    assert got["load_stage"] == {"upstream_failed"} and got["load_target"] == {"upstream_failed"}
    assert got["recon_outcome"] == {"failed"}
    assert gate_decisions(store, FAULTED, run_id) == {"mini_recon_1": ("Blocked", None)}
    # What the gate saw (the next run of the cohort replaces the results themselves).
    (caught,) = query(
        store, "SELECT summary->'failed_checks' FROM recon.gate_decision WHERE run_id = %s", f"{FAULTED_DAG}/{run_id}"
    )[0]
    assert {"subscribers_by_status"} <= {check["check_name"] for check in caught}, caught
    blocked = [text for text in alerts_of(deployment["receiver"], FAULTED) if "*Blocked*" in text]
    assert len(blocked) == 1 and "stage *mini_recon_1*" in blocked[0]


def test_an_approval_through_the_hitl_endpoint_lets_the_cohort_continue(deployment):
    stack, store, run_id = deployment["stack"], deployment["store"], deployment["runs"]["approved"]
    assert stack.wait_for_run(FAULTED_DAG, run_id, RUN_TIMEOUT) == "success", states(stack, FAULTED_DAG, run_id)
    approval = deployment["approval"]
    assert "error" not in approval, approval["error"]
    assert approval["detail"]["options"] == ["Approve", "Reject"] and "Mismatch" in approval["detail"]["body"]
    decisions = gate_decisions(store, FAULTED, run_id)
    assert decisions["mini_recon_1"] == ("Passed", None)
    assert decisions["mini_recon_2"] == ("Approved", "approver")  # who decided
    assert decisions["overall_summary"][0] == "Warned"  # two subscribers never reached Target
    texts = alerts_of(deployment["receiver"], FAULTED)
    assert any("*AwaitingApproval*" in t and "stage *mini_recon_2*" in t for t in texts)
    events = stack.api("GET", "/assets/events", params={"source_dag_id": FAULTED_DAG, "limit": 100})["asset_events"]
    outcomes = {e["uri"]: e["extra"]["outcome"] for e in events if e["source_run_id"] == run_id}
    assert outcomes[f"x-recon://e2e/{FAULTED}/mini_recon_2"] == "Approved"
    assert f"x-recon://e2e/{FAULTED}/overall_summary" not in outcomes  # a warning is not verified data


def test_todays_claims_wait_for_their_files_and_a_backfill_logs_each_day(deployment):
    stack, store, claims, today = deployment["stack"], deployment["store"], deployment["claims"], deployment["today"]

    def todays_run() -> str | None:
        found = stack.api("GET", f"/dags/{CLAIMS_DAG}/dagRuns", params={"run_type": "scheduled", "limit": 10})
        return next(
            (r["dag_run_id"] for r in found["dag_runs"] if r["logical_date"].startswith(today.isoformat())), None
        )

    run_id = stack.wait(todays_run, 600, "the scheduler to start today's claims run (catch-up off: only today)")

    def sensor_state() -> str | None:
        sensor = [ti for ti in stack.task_instances(CLAIMS_DAG, run_id) if ti["task_id"] == "wait_for_files"]
        state = sensor[0]["state"] if sensor else None
        return state if state in ("deferred", "skipped", "success", "failed") else None

    # Business day `today`: its files may land until tomorrow 12:00 UTC, so the sensor waits
    # (it used to close the window at today 12:00 and skip: NO_FILES while files were still due).
    assert stack.wait(sensor_state, 600, "the claims sensor to look") == "deferred"
    put_claims(deployment["moto"], claims, today)
    assert stack.wait_for_run(CLAIMS_DAG, run_id, RUN_TIMEOUT) == "success", states(stack, CLAIMS_DAG, run_id)

    backfill = deployment["runs"]["backfill"]
    past = deployment["past"]

    def backfill_done() -> list[dict[str, Any]] | None:
        found = stack.api("GET", f"/dags/{CLAIMS_DAG}/dagRuns", params={"run_type": "backfill", "limit": 10})
        runs = found["dag_runs"]
        return runs if len(runs) == 2 and {r["state"] for r in runs} <= {"success", "failed"} else None

    runs = stack.wait(backfill_done, RUN_TIMEOUT, f"backfill {backfill['id']} to finish")
    assert {r["logical_date"][:10]: r["state"] for r in runs} == {
        past[0].isoformat(): "success",
        past[1].isoformat(): "success",
    }
    logged = dict(
        query(
            store, "SELECT run_date::text, status FROM metrics.pipeline_run_log WHERE dataset = %s", claims["dataset"]
        )
    )
    assert logged == {today.isoformat(): "SUCCESS", past[0].isoformat(): "SUCCESS", past[1].isoformat(): "NO_FILES"}
    # Catch-up off: unpausing scheduled today only, not a run per day since start_date.
    scheduled = stack.api("GET", f"/dags/{CLAIMS_DAG}/dagRuns", params={"run_type": "scheduled"})["total_entries"]
    assert scheduled == 1


def test_no_task_needed_a_retry(deployment):
    stack = deployment["stack"]
    retried = []
    for dag_id in (CLEAN_DAG, FAULTED_DAG, CLAIMS_DAG):
        for run in stack.api("GET", f"/dags/{dag_id}/dagRuns", params={"limit": 50})["dag_runs"]:
            assert run["state"] in ("success", "failed"), (dag_id, run["dag_run_id"], run["state"])
            retried += [
                (dag_id, run["dag_run_id"], ti["task_id"], ti["map_index"], ti["try_number"])
                for ti in stack.task_instances(dag_id, run["dag_run_id"])
                if ti["try_number"] > 1
            ]
    assert retried == []
