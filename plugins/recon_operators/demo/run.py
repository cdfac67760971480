"""``make demo``: prepare local services and databases, run what the product has, report it.

Everything it creates is named ``recon_demo_*`` and replaced on the next run, so a rerun starts
clean and the results stay behind for a look (psql, or the Airflow UI) after it ends.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time

from recon_operators.demo import services
from recon_operators.demo.receiver import WebhookReceiver, slack_conn
from recon_operators.paths import project_root, read_sql

ROOT = project_root()
AIRFLOW_HOME = ROOT / ".airflow"
DEMO_DIR = ROOT / ".demo"
STORE_DB, TRANSFORM_DB, STAGE_DB, TARGET_DB = (
    "recon_demo_store",
    "recon_demo_transform",
    "recon_demo_stage",
    "recon_demo_target",
)
COHORT_FAULTS = [  # what the faulted cohort's run injects (the run's conf, as a user would pass it)
    {
        "stage": "transform",
        "kind": "flip",
        "dataset": "subscribers",
        "column": "subscriber_status",
        "to_value": "BARRED",
        "prefix": "62813",
        "n": 5,
    },
    {"stage": "transform", "kind": "drift", "dataset": "balances", "column": "pulsa_balance", "delta": "0.01", "n": 3},
]


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
        **services.airflow_conn_env(STORE_DB, TRANSFORM_DB, STAGE_DB, moto, target_db=TARGET_DB),
    }
    os.environ.update(env)
    return env


def run_dag(dag_id: str, conf: dict | None = None, label: str = "") -> dict:
    """Run a DAG with dag.test() in a subprocess; its task logs go to .demo/<dag_id>[-<label>].log."""
    log = DEMO_DIR / f"{dag_id}{'-' + label if label else ''}.log"
    summary = DEMO_DIR / f"{dag_id}.json"
    with log.open("w") as out:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "recon_operators.demo.run_dag",
                dag_id,
                "--summary",
                str(summary),
                "--conf",
                json.dumps(conf or {}),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
            check=False,
        )
    result = json.loads(summary.read_text()) if summary.exists() else {"error": "no summary written"}
    result["log"] = str(log.relative_to(ROOT))
    return result


def show_dag_run(result: dict) -> None:
    if "error" in result:
        raise SystemExit(f"demo: {result['error']} (see {result['log']})")
    print(f"run {result['run_id']}: {result['state']}   (task logs: {result['log']})")
    for task, state in result["tasks"].items():
        print(f"  {task:<28} {state}")


def example_suites() -> None:
    """``recon check`` on the bundled example files: cosmetic differences normalised, real ones found."""
    from recon_operators.engine.opener import open_side
    from recon_operators.engine.runner import run_suite
    from recon_operators.engine.scope import Scope
    from recon_operators.engine.spec import load_suite
    from recon_operators.report import render_table, summary

    for name in ("example_files.yaml", "example_files_drift.yaml"):
        suite = load_suite(ROOT / "include" / "config" / "suites" / name)
        results = run_suite(suite, Scope(env="demo", cohort_id="C1"), open_side)
        counts = summary(results)
        print(
            f"\n  recon check include/config/suites/{name} --scope cohort_id=C1   "
            f"-> {counts['matched']} matched, {counts['mismatched']} mismatched, {counts['errors']} errors"
        )
        shown = [r for r in results if not r.passed] or results[:4]
        print("  " + render_table(shown).replace("\n", "\n  "))


def ledger_rows(*queries: tuple[str, tuple]) -> list[list[tuple]]:
    """Run read-only queries against the demo's results store, one connection for all."""
    import psycopg2

    conn = psycopg2.connect(services.pg_dsn(STORE_DB))
    try:
        with conn.cursor() as cur:
            out = []
            for sql, params in queries:
                cur.execute(sql, params)
                out.append(cur.fetchall())
            return out
    finally:
        conn.close()


def shortened(expected: object, actual: object) -> tuple[str, str]:
    """Hashes are long: show that they differ, not every digit."""
    if len(str(expected)) > 19:
        return str(expected)[:16] + "...", str(actual)[:16] + "..."
    return str(expected), str(actual)


def ledger_report(run_id: str) -> None:
    """What the ledger holds for one DAG run: each check's expected, actual, discrepancy, status."""
    rows, decisions = ledger_rows(
        (
            "SELECT stage, check_name, coalesce(group_key, ''), expected, actual, discrepancy, status"
            " FROM recon.check_result WHERE run_id LIKE %s ORDER BY check_name, group_key",
            (f"%/{run_id}/%",),
        ),
        ("SELECT policy, verdict, outcome, decided_at FROM recon.gate_decision WHERE run_id LIKE %s", (f"%/{run_id}",)),
    )
    print(f"  {'stage':<13} {'check':<22} {'group':<11} {'expected':>19} {'actual':>19} {'discrepancy':>12}  status")
    for stage, check, group, expected, actual, discrepancy, status in rows:
        expected, actual = shortened(expected, actual)
        print(
            f"  {stage:<13} {check:<22} {group:<11} {expected:>19} {actual:>19} "
            f"{'-' if discrepancy is None else str(discrepancy):>12}  {status}"
        )
    for policy, verdict, outcome, decided_at in decisions:
        print(f"  gate (policy {policy}): verdict {verdict} -> {outcome} at {decided_at:%H:%M:%S}")


def cohort_summary(run_id: str) -> None:
    """Per stage and suite: batches and checks matched, then every failed check in full."""
    suites, failed, gates = ledger_rows(
        (
            "SELECT stage, suite, count(DISTINCT (prefix, batch_id)), count(*), count(*) FILTER (WHERE status = 'Match')"
            " FROM recon.check_result WHERE run_id LIKE %s GROUP BY stage, suite ORDER BY min(id)",
            (f"%/{run_id}/%",),
        ),
        (
            "SELECT stage, prefix, batch_id, check_name, coalesce(group_key, ''), expected, actual, discrepancy, status"
            " FROM recon.check_result WHERE run_id LIKE %s AND status <> 'Match' ORDER BY id",
            (f"%/{run_id}/%",),
        ),
        (
            "SELECT stage, policy, verdict, outcome FROM recon.gate_decision WHERE run_id LIKE %s ORDER BY id",
            (f"%/{run_id}",),
        ),
    )
    for stage, suite, batches, total, matched in suites:
        print(f"  {stage:<16} {suite:<34} {batches} scope(s)  {matched}/{total} checks matched")
    shown_failed = 12
    for stage, prefix, batch, check, group, expected, actual, discrepancy, status in failed[:shown_failed]:
        expected, actual = shortened(expected, actual)
        print(
            f"  ! {stage} prefix {prefix} batch {batch}: {check}{'[' + group + ']' if group else ''} "
            f"expected {expected} actual {actual} discrepancy {'-' if discrepancy is None else discrepancy} ({status})"
        )
    if len(failed) > shown_failed:
        print(f"  ! ... and {len(failed) - shown_failed} more failed checks (all in recon.check_result)")
    for stage, policy, verdict, outcome in gates:
        print(f"  gate {stage:<16} policy {policy:<7} verdict {verdict:<8} -> {outcome}")


def _table(title: str, header: tuple[str, ...], rows: list[tuple], limit: int = 14) -> None:
    """One report table, columns sized to their content; long tables show their first rows."""
    if not rows:
        print(f"  {title}: no rows (the stage did not run)")
        return
    text = [tuple("-" if v is None else str(v) for v in row) for row in rows[:limit]]
    widths = [max(len(h), *(len(r[i]) for r in text)) for i, h in enumerate(header)]
    print(f"  {title}")
    for row in (header, *text):
        print("    " + "  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
    if len(rows) > limit:
        print(f"    ... {len(rows) - limit} more rows")


def report_tables(env: str, cohort_id: str) -> None:
    """The reference's report tables for the cohort, as its readers would query them."""
    params = {"env": env, "cohort_id": cohort_id}
    names = (
        "mini_recon_1_prefix_summary",
        "mini_recon_2_summary",
        "mini_recon_3_prefix_summary",
        "overall_summary",
        "etl_stage_report",
        "etl_stage_not_deployed",
    )
    mr1, mr2, mr3, overall, etl, not_deployed = ledger_rows(
        *((read_sql(f"demo_report/{n}.sql", package="recon_operators.demo"), params) for n in names)
    )
    _table(
        "Mini Recon 1 prefix summary (mini_recon_1.tbl_recon_report_prefix_summary)",
        ("prefix", "status", "src", "non_migr", "trgt", "match%", "match", "migratable", "failed subsets"),
        mr1,
    )
    _table(
        "Mini Recon 2 per service (mini_recon_2.tbl_recon_2_summary, all batches)",
        ("service", "subsets", "failed", "status"),
        mr2,
    )
    _table(
        "Mini Recon 3 prefix summaries (mini_recon_3.tbl_prefix_summary[_brm])",
        ("leg", "prefix", "checks", "failed", "match%", "match", "failed subsets"),
        mr3,
    )
    _table(
        "Overall summary, Source -> Target (recon_report.tbl_recon_report_overall_summary)",
        ("prefix", "service", "subset", "source", "transform", "stage", "target", "src-trgt", "match"),
        overall,
    )
    _table(
        "ETL stage report (recon_report.tbl_recon_etl_stage_report)",
        ("service", "table", "transform", "stage", "target", "trf-stg", "stg-trg", "status"),
        etl,
    )
    if not_deployed and not_deployed[0][0]:
        print(f"    + {not_deployed[0][0]} matrix tables not deployed in this environment (no counts)")


def cohorts(receiver: WebhookReceiver) -> None:
    before = len(receiver.bodies)
    for dag_id, conf, label in (
        ("recon_cohort_A", {"faults": []}, "clean"),
        ("recon_cohort_B", {"faults": COHORT_FAULTS}, "faulted"),
    ):
        heading(f"DAG {dag_id} ({label} cohort), conf {json.dumps(conf)}")
        result = run_dag(dag_id, conf, label=label)
        if "error" in result:
            raise SystemExit(f"demo: {result['error']} (see {result['log']})")
        states: dict[str, list[str]] = {}
        for task, state in result["tasks"].items():
            states.setdefault(task.split("[")[0], []).append(state)
        print(f"run {result['run_id']}: {result['state']}   (task logs: {result['log']})")
        for task, task_states in states.items():
            shown = task_states[0] if len(set(task_states)) == 1 else ",".join(task_states)
            mapped = f" x{len(task_states)}" if len(task_states) > 1 else ""
            print(f"  {task + mapped:<48} {shown}")
        cohort_summary(result["run_id"])
        report_tables("demo", dag_id.removeprefix("recon_cohort_"))
        gates = [t for t, s in states.items() if t.startswith("gate_") and "failed" in s]
        never_ran = [t for t, s in states.items() if t.startswith("load_") and set(s) == {"upstream_failed"}]
        if gates:
            print(
                f"  -> stopped by {', '.join(gates)}: {', '.join(never_ran) or 'no load'} never ran; "
                f"the run ended {result['state']}"
            )
    for body in receiver.bodies[before:]:
        print("  | " + body.get("text", str(body)).replace("\n", "\n  | "))


def gated_pipeline(receiver: WebhookReceiver) -> None:
    for variant in ("clean", "drift"):
        heading(f'DAG recon_example_files_gate, conf {{"variant": "{variant}"}}')
        result = run_dag("recon_example_files_gate", {"variant": variant}, label=variant)
        show_dag_run(result)
        ledger_report(result["run_id"])
        if result["tasks"].get("publish_verified_extract") == "upstream_failed":
            print("  -> the gate stopped the pipeline: publish_verified_extract never ran and the run ended failed")
    print(f"\n  alerts received by the local Slack webhook receiver: {len(receiver.bodies)}")
    for body in receiver.bodies:
        print("  | " + body.get("text", str(body)).replace("\n", "\n  | "))


def main() -> int:
    started = time.monotonic()
    DEMO_DIR.mkdir(exist_ok=True)
    AIRFLOW_HOME.mkdir(exist_ok=True)

    heading("Services")
    moto = services.MotoServer().start()
    receiver = WebhookReceiver()
    try:
        print(f"Postgres 127.0.0.1:{services.PG_PORT}, MariaDB 127.0.0.1:{services.MARIADB_PORT}: reachable")
        print(f"moto (S3, SNS, DynamoDB) started on {moto.endpoint_url}")
        services.create_pg_database(STORE_DB, replace=True)
        services.create_pg_database(TRANSFORM_DB, replace=True)
        services.create_mariadb_database(STAGE_DB, replace=True)
        services.create_pg_database(TARGET_DB, replace=True)
        print(
            f"databases (re)created: Postgres {STORE_DB} (results store), {TRANSFORM_DB} (transformation), "
            f"{TARGET_DB} (target); MariaDB {STAGE_DB} (stage)"
        )
        airflow_environment(moto)
        os.environ["AIRFLOW_CONN_SLACK_ALERTS"] = receiver.airflow_conn()
        for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            os.environ.pop(proxy, None)
        print(f"local Slack webhook receiver on 127.0.0.1:{receiver.port} (connection slack_alerts)")

        heading("Airflow (isolated home: .airflow/, SQLite metadata, examples off)")
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        print("metadata database migrated")

        heading("DAG recon_store_maintenance: upgrade the results store, verify its tables")
        show_dag_run(run_dag("recon_store_maintenance"))

        heading("Check engine on the bundled example files (include/config/examples)")
        example_suites()

        gated_pipeline(receiver)

        cohorts(receiver)

        from recon_operators.demo.subscribers import subscriber_jobs

        subscriber_jobs(moto)

    except services.ServiceUnavailable as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    finally:
        moto.stop()
        receiver.close()
        print(f"\nmoto stopped. Demo finished in {time.monotonic() - started:.0f} s.")
    print(
        f"Inspect the ledger: psql -h 127.0.0.1 -U postgres {STORE_DB} "
        "-c 'select scope_key, check_name, group_key, expected, actual, status from recon.check_result'"
    )
    print("Open the same runs in the Airflow UI (every connection the DAGs use; moto and the alert receiver")
    print("start again, since the demo stopped its own):")
    for line in ui_commands(services.free_port(), services.free_port()):
        print(f"  {line}")
    return 0


def ui_commands(moto_port: int, receiver_port: int) -> list[str]:
    """Shell lines that open the demo's runs in ``airflow standalone``: the demo's Airflow home and
    every connection the DAGs name (store, transformation, stage, target, AWS on moto, Slack, Legacy)."""
    from recon_operators.demo.subscribers import legacy_conn_env

    connections = {
        **services.airflow_conn_env(
            STORE_DB, TRANSFORM_DB, STAGE_DB, services.MotoServer(port=moto_port), target_db=TARGET_DB
        ),
        "AIRFLOW_CONN_SLACK_ALERTS": slack_conn(receiver_port),
        **legacy_conn_env(),
    }
    python = ROOT / ".venv/bin/python"
    return [
        f"source {ROOT / '.venv/bin/activate'}",
        f"export AIRFLOW_HOME={AIRFLOW_HOME} AIRFLOW__CORE__DAGS_FOLDER={ROOT / 'dags'} "
        f"AIRFLOW__CORE__PLUGINS_FOLDER={ROOT / 'plugins'} AIRFLOW__CORE__LOAD_EXAMPLES=False",
        *(f"export {name}={shlex.quote(value)}" for name, value in connections.items()),
        f"{python} -m moto.server -H 127.0.0.1 -p {moto_port} > /dev/null 2>&1 &   # S3 and SNS (empty: "
        "the cohort DAGs land their extracts again)",
        f"{python} -m recon_operators.demo.receiver --port {receiver_port} &   # prints the Slack alerts",
        "airflow standalone    # http://localhost:8080; user admin, password in "
        f"{AIRFLOW_HOME}/simple_auth_manager_passwords.json.generated",
        "# reconciliation view: http://localhost:8080/recon/ (menu Browse > Reconciliation): cohort A green, "
        "B blocked at Mini Recon 1 (docs/ui.md)",
        'airflow dags trigger recon_example_files_gate --conf \'{"variant": "drift"}\'   # watch the gate stop it',
        "airflow dags trigger recon_cohort_A   # a clean cohort, hop by hop (see docs/runbook.md)",
    ]


if __name__ == "__main__":
    sys.exit(main())
