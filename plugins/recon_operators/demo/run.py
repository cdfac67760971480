"""``make demo``: prepare local services and databases, run what the product has, report it.

Everything it creates is named ``recon_demo_*`` and replaced on the next run, so a rerun starts
clean and the results stay behind for a look (psql, or the Airflow UI) after it ends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from recon_operators.demo import services
from recon_operators.paths import project_root

ROOT = project_root()
AIRFLOW_HOME = ROOT / ".airflow"
DEMO_DIR = ROOT / ".demo"
STORE_DB, TRANSFORM_DB, STAGE_DB = "recon_demo_store", "recon_demo_transform", "recon_demo_stage"


def heading(text: str) -> None:
    print(f"\n== {text}")


def airflow_environment(moto: services.MotoServer) -> dict[str, str]:
    env = {
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": moto.region,
        **services.airflow_conn_env(STORE_DB, TRANSFORM_DB, STAGE_DB, moto),
    }
    os.environ.update(env)
    return env


def run_dag(dag_id: str, conf: dict | None = None) -> dict:
    """Run a DAG with dag.test() in a subprocess; its task logs go to .demo/<dag_id>.log."""
    log = DEMO_DIR / f"{dag_id}.log"
    summary = DEMO_DIR / f"{dag_id}.json"
    with log.open("w") as out:
        subprocess.run([sys.executable, "-m", "recon_operators.demo.run_dag", dag_id,
                        "--summary", str(summary), "--conf", json.dumps(conf or {})],
                       stdout=out, stderr=subprocess.STDOUT, env=os.environ.copy(), check=False)
    result = json.loads(summary.read_text()) if summary.exists() else {"error": "no summary written"}
    result["log"] = str(log.relative_to(ROOT))
    return result


def show_dag_run(result: dict) -> None:
    if "error" in result:
        raise SystemExit(f"demo: {result['error']} (see {result['log']})")
    print(f"run {result['run_id']}: {result['state']}   (task logs: {result['log']})")
    for task, state in result["tasks"].items():
        print(f"  {task:<28} {state}")


def ledger_round_trip() -> None:
    """Write two runs of one scope and one of another, then read the verdicts back."""
    from recon_operators.engine.results import CheckResult, Status
    from recon_operators.engine.scope import Scope
    from recon_operators.store import ResultsStore

    def sample(balance_target: Decimal) -> list[CheckResult]:
        return [
            CheckResult("subscriber_count", "row_count", Status.MATCH, expected=1000, actual=1000, discrepancy=0),
            CheckResult("pulsa_balance_sum", "sum",
                        Status.MATCH if balance_target == Decimal("52310.75") else Status.MISMATCH,
                        expected=Decimal("52310.75"), actual=balance_target,
                        discrepancy=balance_target - Decimal("52310.75"), tolerance={"abs": "0.00"}),
        ]

    batch1 = Scope(env="demo", cohort_id="COHORT_A", prefix="62811", batch_id="1", stage="mini_recon_1")
    batch2 = Scope(env="demo", cohort_id="COHORT_A", prefix="62811", batch_id="2", stage="mini_recon_1")
    with ResultsStore.from_dsn(services.pg_dsn(STORE_DB)) as store:
        for scope, balance in ((batch1, Decimal("52310.74")), (batch2, Decimal("52310.75")),
                               (batch1, Decimal("52310.75"))):
            run = store.open_run(scope, "mini_recon_1", process_name="Transformation", entity_name="Mini Recon 1")
            store.record_results(run, sample(balance))
            store.finish_run(run, "Passed")
            verdict = store.verdict(scope)
            failed = ", ".join(f"{c['check_name']} expected {c['expected']} actual {c['actual']}"
                               for c in verdict.failed_checks) or "-"
            print(f"  {run.run_id[:20]:<20} batch {scope.batch_id}: {verdict.status:<8} "
                  f"{verdict.matched}/{verdict.total} matched; failed: {failed}")
        prefix = Scope(env="demo", cohort_id="COHORT_A", prefix="62811")
        verdict = store.verdict(prefix, with_children=True)
        print(f"  prefix 62811 (all batches): {verdict.status}, {verdict.total} current results;"
              " batch 1's first run moved to recon.check_result_history by its rerun")


def main() -> int:
    started = time.monotonic()
    DEMO_DIR.mkdir(exist_ok=True)
    AIRFLOW_HOME.mkdir(exist_ok=True)

    heading("Services")
    moto = services.MotoServer().start()
    try:
        print(f"Postgres 127.0.0.1:{services.PG_PORT}, MariaDB 127.0.0.1:{services.MARIADB_PORT}: reachable")
        print(f"moto (S3, SNS, DynamoDB) started on {moto.endpoint_url}")
        services.create_pg_database(STORE_DB, replace=True)
        services.create_pg_database(TRANSFORM_DB, replace=True)
        services.create_mariadb_database(STAGE_DB, replace=True)
        print(f"databases (re)created: Postgres {STORE_DB} (results store), {TRANSFORM_DB}; MariaDB {STAGE_DB}")
        airflow_environment(moto)

        heading("Airflow (isolated home: .airflow/, SQLite metadata, examples off)")
        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print("metadata database migrated")

        heading("DAG recon_store_maintenance: upgrade the results store, verify its tables")
        show_dag_run(run_dag("recon_store_maintenance"))

        heading("Results ledger round trip (sample results: the check engine comes with issue #3)")
        ledger_round_trip()

        heading("Not built yet")
        print("  The cohort migration DAG (Transform -> Mini Recon 1 -> gate -> Stage -> ... ) is issue #4;")
        print("  until it lands this demo runs the foundation only: services, Airflow, the results store.")
    except services.ServiceUnavailable as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    finally:
        moto.stop()
        print(f"\nmoto stopped. Demo finished in {time.monotonic() - started:.0f} s.")
    print(f"Inspect the ledger: psql -h 127.0.0.1 -U postgres {STORE_DB} "
          "-c 'select scope_key, check_name, status from recon.check_result'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
