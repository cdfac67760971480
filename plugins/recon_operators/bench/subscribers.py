"""``make bench-subscribers [SUBS=rows]``: time a DUAL_PROV migration of N subscribers and an
N vs N audit, against the floor of scanning both stores once.

Everything runs on fresh resources dropped at the end (a MariaDB database, a results store
database, moto in server mode for DynamoDB and S3). Each measure is its own process (wall time,
peak RSS, as ``make bench`` measures):

* ``migrate``: the migration job's own code path without the scheduler: plan the file (validate
  every row, chunk files in S3), load the chunks in ``--workers`` processes at once (as mapped
  tasks on parallel workers), resync; the job's counts must equal the file's;
* ``floor: scan cloud`` (the same parallel Scan) and ``floor: scan legacy`` (``mariadb --quick``);
* ``audit``: the audit's diff (DynamoDB adapter vs MariaDB) after planting a known drift, whose
  counts must equal the truth.

The audit is reported as a ratio to the two scans one after the other (target: <= 3x). One line
per run is appended to ``bench/history.jsonl`` (``"bench": "subscribers"``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import sys
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from recon_operators.bench.data import mariadb_scan
from recon_operators.bench.run import HISTORY, Measure, _previous, measure
from recon_operators.demo import services
from recon_operators.paths import project_root

BENCH = "subscribers"
NOW = "2026-03-01T08:00:00.000Z"
DRIFT = {"cloud_only": 100, "legacy_only": 100, "status": 150, "planId": 50}


def _world(args: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(s3 client, CloudStore, a LegacyStore factory) for one process."""
    import boto3
    import MySQLdb

    from recon_operators.subscribers.cloud import CloudStore
    from recon_operators.subscribers.legacy import LegacyStore

    def client(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=args["endpoint"],
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def legacy() -> Any:
        return LegacyStore(
            MySQLdb.connect(
                host=services.MARIADB_HOST,
                port=services.MARIADB_PORT,
                user=services.MARIADB_USER,
                passwd="",
                db=args["legacy_db"],
                charset="utf8mb4",
            )
        )

    return client("s3"), CloudStore(client("dynamodb"), args["table"], scan_segments=args["segments"]), legacy


def _load_chunk(args: dict[str, Any], chunk: dict[str, Any]) -> dict[str, int]:
    from recon_operators.subscribers import files
    from recon_operators.subscribers.jobs import JobStore
    from recon_operators.subscribers.provisioning import Mode, Provisioner, upsert_planner

    s3, cloud, legacy_store = _world(args)
    legacy, jobs = legacy_store(), JobStore.from_dsn(args["store_dsn"])
    try:
        records = {r["uid"]: r for _, r in files.read_chunk(s3, args["bucket"], chunk["key"])}
        outcome = Provisioner(
            Mode.DUAL_PROV, cloud=cloud, legacy=legacy, journal=jobs.journal(args["job_id"]), job_id=args["job_id"]
        ).write_chunk(chunk["chunk"], list(records), upsert_planner(records, NOW))
        jobs.record_chunk(args["job_id"], chunk["chunk"], outcome.as_dict())
        return outcome.as_dict()
    finally:
        legacy.conn.close()
        jobs.close()


def step_migrate(args: dict[str, Any]) -> dict[str, Any]:
    from recon_operators.subscribers.files import plan_file
    from recon_operators.subscribers.jobs import JobStore
    from recon_operators.subscribers.legacy import ensure_schema
    from recon_operators.subscribers.provisioning import Mode, Provisioner

    s3, cloud, legacy_store = _world(args)
    jobs = JobStore.from_dsn(args["store_dsn"])
    job = jobs.open(job_type="MIGRATION", dag_id="bench_subscriber_migration", run_id=args["run"], mode="DUAL_PROV")
    legacy = legacy_store()
    ensure_schema(legacy.conn)
    cloud.ensure_table()
    plan = plan_file(
        s3, args["bucket"], args["key"], f"bench/{job.job_id}/", chunk_size=args["chunk_size"], kind="migration"
    )
    jobs.record(job.job_id, details={"rows": plan.rows, "rejected": plan.rejected})
    worker_args = {**args, "job_id": job.job_id}
    with ProcessPoolExecutor(args["workers"], mp_context=multiprocessing.get_context("spawn")) as pool:
        outcomes = list(pool.map(_load_chunk, [worker_args] * len(plan.chunks), [c.as_dict() for c in plan.chunks]))
    resolved, still = jobs.resync(
        job.job_id,
        Provisioner(
            Mode.DUAL_PROV, cloud=cloud, legacy=legacy, journal=jobs.journal(job.job_id), job_id=job.job_id
        ).resync,
    )
    processed, succeeded, failed = jobs.totals(job.job_id)
    legacy.conn.close()
    jobs.close()
    return {
        "rows": plan.rows,
        "chunks": len(plan.chunks),
        "processed": processed,
        "succeeded": succeeded,
        "failed": failed,
        "inserted": sum(o["inserted"] for o in outcomes),
        "out_of_sync": len(still),
    }


def step_plant(args: dict[str, Any]) -> dict[str, Any]:
    """The known drift the audit must report: members missing on each side, fields changed."""
    _, cloud, legacy_store = _world(args)
    legacy = legacy_store()
    uids = [f"bench-{i:07d}" for i in range(0, args["rows"], args["rows"] // sum(DRIFT.values()))]
    groups: dict[str, list[str]] = {}
    start = 0
    for name, count in DRIFT.items():
        groups[name], start = uids[start : start + count], start + count
    before = legacy.get_many(groups["cloud_only"] + groups["status"])
    legacy.apply(
        {
            **dict.fromkeys(groups["cloud_only"]),
            **{
                u: {**before[u], "status": "SUSPENDED" if before[u]["status"] != "SUSPENDED" else "ACTIVE"}
                for u in groups["status"]
            },
        },
        before,
        "bench-drift",
    )
    planned = cloud.get_many(groups["planId"])
    cloud.apply(
        {**dict.fromkeys(groups["legacy_only"]), **{u: {**r, "planId": "PLATINUM"} for u, r in planned.items()}}
    )
    legacy.conn.close()
    return {k: len(v) for k, v in groups.items()}


def step_scan_cloud(args: dict[str, Any]) -> dict[str, Any]:
    from recon_operators.engine.adapters.dynamodb import scan_pages, scan_request, tagged_item

    _, cloud, _ = _world(args)
    items = sum(
        len(page)
        for page in scan_pages(
            cloud.client, scan_request(args["table"]), segments=args["segments"], convert=tagged_item
        )
    )
    return {"items": items}


def step_audit(args: dict[str, Any]) -> dict[str, Any]:
    from recon_operators.engine.adapters.dynamodb import DynamoDBAdapter
    from recon_operators.engine.opener import open_side
    from recon_operators.engine.spec import SideSpec
    from recon_operators.subscribers.audit import legacy_query, run_audit, sync_summary

    _, cloud, _ = _world(args)
    legacy_url = f"mysql://{services.MARIADB_USER}@{services.MARIADB_HOST}:{services.MARIADB_PORT}/{args['legacy_db']}"
    with (
        DynamoDBAdapter(cloud.client, SideSpec(table=args["table"]), segments=args["segments"]) as source,
        open_side(SideSpec(connection=legacy_url, query=legacy_query()), "legacy") as target,
    ):
        result = run_audit(source, target, mismatch_limit=1000)
    return {**sync_summary(result, 1000), "timings": result.timings}


STEPS = {"migrate": step_migrate, "plant": step_plant, "scan-cloud": step_scan_cloud, "audit": step_audit}


def _step(step: str, label: str, args: dict[str, Any], env: dict[str, str]) -> tuple[Measure, dict[str, Any]]:
    result = measure(
        label,
        [sys.executable, "-m", "recon_operators.bench.subscribers", "--step", step, "--args", json.dumps(args)],
        env=env,
    )
    return result, json.loads(result.output.strip().splitlines()[-1])


def run(rows: int, workers: int, history: Path) -> int:
    from recon_operators.store import apply_migrations, connect
    from recon_operators.subscribers.sample import migration_file

    env = {**os.environ, "PYTHONPATH": str(project_root() / "plugins") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    store_db, legacy_db = services.unique_name("bench_store"), services.unique_name("bench_legacy")
    moto = services.MotoServer().start()
    services.create_pg_database(store_db)
    services.create_mariadb_database(legacy_db)
    problems: list[str] = []
    try:
        conn = connect(services.pg_dsn(store_db))
        apply_migrations(conn)
        conn.close()
        args = {
            "endpoint": moto.endpoint_url,
            "table": f"bench-{uuid.uuid4().hex[:6]}",
            "bucket": "bench-subscribers",
            "key": "subscribers/migration/incoming/bench.csv",
            "legacy_db": legacy_db,
            "rows": rows,
            "store_dsn": services.pg_dsn(store_db),
            "segments": 4,
            "workers": workers,
            "chunk_size": 5000,
            "run": "bench",
        }
        print(f"generating {rows:,} subscribers ...", flush=True)
        text, _ = migration_file(rows, prefix="bench")
        s3 = moto.client("s3")
        s3.create_bucket(Bucket=args["bucket"])
        s3.put_object(Bucket=args["bucket"], Key=args["key"], Body=text.encode())
        print(f"migrating (DUAL_PROV, {workers} workers) ...", flush=True)
        migrate, migrated = _step("migrate", "DUAL_PROV migration", args, env)
        if (migrated["processed"], migrated["succeeded"], migrated["failed"]) != (rows, rows, 0):
            problems.append(f"migration counts {migrated}")
        planted = _step("plant", "plant drift", args, env)[1]
        print(f"drift planted {planted}; scanning and auditing ...", flush=True)
        scan_cloud, scanned = _step("scan-cloud", "floor: scan cloud", args, env)
        scan_legacy = measure("floor: scan legacy", mariadb_scan(legacy_db))
        audit, summary = _step("audit", "audit cloud vs legacy", args, env)
        truth = (planted["cloud_only"], planted["legacy_only"], planted["status"] + planted["planId"])
        if (summary["cloud_only"], summary["legacy_only"], summary["field_conflicts"]) != truth:
            problems.append(f"audit counts {summary} (truth {truth})")
        if scanned["items"] != rows - planted["legacy_only"]:
            problems.append(f"cloud scan read {scanned['items']} items")
    finally:
        moto.stop()
        services.drop_pg_database(store_db)
        services.drop_mariadb_database(legacy_db)
    report(rows, workers, [migrate, scan_cloud, scan_legacy, audit], summary, history, problems)
    return 1 if problems else 0


def report(
    rows: int, workers: int, results: list[Measure], summary: dict[str, Any], history: Path, problems: list[str]
) -> None:
    by_name = {m.name: m for m in results}
    floor = by_name["floor: scan cloud"].seconds + by_name["floor: scan legacy"].seconds
    ratio = by_name["audit cloud vs legacy"].seconds / floor
    previous = _previous(history, rows, BENCH)
    print(
        f"\nsubscriber jobs benchmark, {rows:,} subscribers, {workers} load workers, {os.cpu_count()} cores (moto DynamoDB)"
    )
    print(f"{'measure':28} {'wall s':>8} {'peak MB':>8} {'rows/s':>9}  vs previous")
    for m in results:
        before = previous.get(m.name)
        change = f"{m.seconds / before['seconds']:4.2f}x of {before['seconds']:.2f}s" if before else "-"
        print(f"{m.name:28} {m.seconds:8.2f} {m.peak_mb:8.0f} {rows / m.seconds:9.0f}  {change}")
    print(f"audit / (scan cloud + scan legacy) = {ratio:.2f}x (target <= 3x); audit timings {summary.get('timings')}")
    print("counts: " + ("all equal to the known truth" if not problems else "WRONG\n  " + "\n  ".join(problems)))
    history.parent.mkdir(parents=True, exist_ok=True)
    with history.open("a") as out:
        out.write(
            json.dumps(
                {
                    "at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "bench": BENCH,
                    "rows": rows,
                    "workers": workers,
                    "host": platform.node(),
                    "cores": os.cpu_count(),
                    "counts_ok": not problems,
                    "audit_vs_scans": round(ratio, 2),
                    "figures": {m.name: {"seconds": round(m.seconds, 3), "peak_mb": round(m.peak_mb)} for m in results},
                }
            )
            + "\n"
        )
    print(f"figures appended to {history}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=int(os.environ.get("SUBS") or 100_000), help="at least 1000")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--history", type=Path, default=project_root() / HISTORY)
    parser.add_argument("--step", choices=sorted(STEPS))
    parser.add_argument("--args", default="{}")
    options = parser.parse_args()
    if options.step:
        print(json.dumps(STEPS[options.step](json.loads(options.args)), default=str))
        return 0
    if options.rows < 1000:
        parser.error("--rows must be at least 1000 (the planted drift needs 400 subscribers spread over them)")
    return run(options.rows, options.workers, options.history)


if __name__ == "__main__":
    sys.exit(main())
