"""The demo's subscriber jobs section: a DUAL_PROV migration of a generated file with bad rows,
drift planted behind the jobs' back, an audit that finds it, an export with its pre-signed URL.

Runs the shipped DAGs (``dags/subscriber_jobs.py``, include/config/subscribers/jobs.yaml) with
dag.test() like the rest of the demo: Legacy is the MariaDB database ``recon_demo_legacy``,
Cloud the DynamoDB table and S3 bucket of the config, on the demo's moto server.
"""

from __future__ import annotations

import csv
import io
import os
from typing import Any

from recon_operators.demo import services
from recon_operators.demo.run import heading, ledger_rows, run_dag, show_dag_run

LEGACY_DB = "recon_demo_legacy"
ROWS, BAD_EVERY = 1000, 50  # 20 bad rows, one rule broken each


def legacy_conn_env() -> dict[str, str]:
    """The Legacy connection of the subscriber DAGs, as the demo (and ``airflow standalone``) sets it."""
    return {
        "AIRFLOW_CONN_LEGACY_MYSQL": f"mysql://{services.MARIADB_USER}@{services.MARIADB_HOST}:"
        f"{services.MARIADB_PORT}/{LEGACY_DB}"
    }


def _prepare(moto: services.MotoServer) -> Any:
    from recon_operators.subscribers.config import load_subscriber_config

    config = load_subscriber_config()
    services.create_mariadb_database(LEGACY_DB, replace=True)
    os.environ.update(legacy_conn_env())
    s3 = moto.client("s3")
    s3.create_bucket(Bucket=config.bucket)
    print(
        f"Legacy: MariaDB {LEGACY_DB}; Cloud: DynamoDB table {config.cloud_table}; "
        f"files: s3://{config.bucket}/{config.prefix} (moto)"
    )
    return config


def _job(run_id: str) -> dict[str, Any]:
    (rows,) = ledger_rows(
        (
            "SELECT job_id, job_type, job_status, mode, processed_records, success_records, "
            "failed_records, input_file_key, output_file_key, rejects_file_key, output_url, details "
            "FROM recon.subscriber_job WHERE run_id = %s",
            (run_id,),
        )
    )
    names = (
        "job_id",
        "job_type",
        "job_status",
        "mode",
        "processed",
        "succeeded",
        "failed",
        "input",
        "output",
        "rejects",
        "url",
        "details",
    )
    return dict(zip(names, rows[0])) if rows else {}


def _plant_drift(moto: services.MotoServer, config: Any) -> str:
    """Change both systems behind the jobs' back: what an audit must find."""
    import MySQLdb

    from recon_operators.subscribers.cloud import CloudStore
    from recon_operators.subscribers.legacy import LegacyStore

    conn = MySQLdb.connect(
        host=services.MARIADB_HOST,
        port=services.MARIADB_PORT,
        user=services.MARIADB_USER,
        passwd="",
        db=LEGACY_DB,
        charset="utf8mb4",
    )
    try:
        legacy = LegacyStore(conn)
        uids = sorted({r["uid"] for page in legacy.pages() for r in page})[:12]
        before = legacy.get_many(uids)
        changes = {uid: None for uid in uids[:3]}  # 3 only in Cloud
        changes.update(
            {
                uid: {**before[uid], "status": "SUSPENDED" if before[uid]["status"] != "SUSPENDED" else "ACTIVE"}
                for uid in uids[5:9]
            }
        )  # 4 status conflicts
        legacy.apply(changes, before, "demo-drift")
    finally:
        conn.close()
    cloud = CloudStore(moto.client("dynamodb"), config.cloud_table)
    items = cloud.get_many(uids[9:12])
    cloud.apply(
        {
            uids[3]: None,
            uids[4]: None,  # 2 only in Legacy
            **{uid: {**item, "planId": "PLATINUM"} for uid, item in items.items()},
        }
    )  # 3 plan conflicts
    return "3 subscribers removed from Legacy, 2 from Cloud; 4 statuses changed in Legacy, 3 plans in Cloud"


def subscriber_jobs(moto: services.MotoServer) -> None:
    """The section: migration -> drift -> audit -> export, each run's job row printed."""
    from recon_operators.subscribers.sample import migration_file

    heading("Subscriber jobs: Cloud (DynamoDB) and Legacy (MariaDB) in DUAL_PROV")
    config = _prepare(moto)
    text, bad = migration_file(ROWS, bad_every=BAD_EVERY, prefix="demo")
    key = f"{config.incoming('migration')}subscribers_wave1.csv"
    moto.client("s3").put_object(Bucket=config.bucket, Key=key, Body=text.encode())
    print(f"generated {ROWS} subscribers ({bad} rows broken on purpose) -> s3://{config.bucket}/{key}")

    heading(f'DAG {config.dag_id("migration")}, conf {{"input_key": "{key}", "mode": "DUAL_PROV"}}')
    result = run_dag(config.dag_id("migration"), {"input_key": key, "mode": "DUAL_PROV"})
    show_dag_run(result)
    job = _job(result["run_id"])
    print(
        f"  job {job['job_id']} {job['job_status']} ({job['mode']}): processed {job['processed']}, "
        f"succeeded {job['succeeded']}, failed {job['failed']}"
    )
    print(f"  rejects with reasons: s3://{config.bucket}/{job['rejects']}")
    body = moto.client("s3").get_object(Bucket=config.bucket, Key=job["rejects"])["Body"].read().decode()
    for row in list(csv.DictReader(io.StringIO(body)))[:6]:
        print(f"    line {row['line']}: {row['reasons']}")

    heading("Drift planted behind the jobs' back")
    print(f"  {_plant_drift(moto, config)}")

    heading(f"DAG {config.dag_id('audit')}: Cloud vs Legacy, the engine's keyed row diff")
    result = run_dag(config.dag_id("audit"))
    show_dag_run(result)
    sync = _job(result["run_id"])["details"]["sync"]
    print(
        f"  {sync['subscribers']} subscribers: {sync['in_sync']} in sync, {sync['cloud_only']} cloud only, "
        f"{sync['legacy_only']} legacy only, {sync['field_conflicts']} with field conflicts "
        f"{sync['conflicts_by_field']} ({sync['seconds']} s)"
    )
    audit = _job(result["run_id"])
    print(
        f"  mismatch list (PII masked): s3://{config.bucket}/{audit['output']}; "
        f"gate policy {config.jobs['audit'].gate}: the ledger holds the verdict"
    )

    heading(f'DAG {config.dag_id("export")}, conf {{"status": "ACTIVE"}}')
    result = run_dag(config.dag_id("export"), {"status": "ACTIVE"})
    show_dag_run(result)
    export = _job(result["run_id"])
    print(f"  exported {export['processed']} ACTIVE subscribers, merged: {export['details']['by_sync_status']}")
    print(
        f"  s3://{config.bucket}/{export['output']} (PII masked); pre-signed URL, valid "
        f"{config.jobs['export'].url_expiry}:"
    )
    print(f"  {export['url']}")
    (jobs,) = ledger_rows(
        (
            "SELECT job_type, job_status, processed_records, success_records, failed_records "
            "FROM recon.subscriber_job ORDER BY created_at",
            (),
        )
    )
    print(
        "  recon.subscriber_job: "
        + "; ".join(f"{t} {s} {p}/{ok}/{f}" for t, s, p, ok, f in jobs)
        + "  (type status processed/succeeded/failed)"
    )
