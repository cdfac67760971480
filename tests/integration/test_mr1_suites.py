"""The shipped Mini Recon 1 suites against a real migratable-only Transformation load (moto S3 landing).

Each test lands its own cohort (own id, own MSISDN block) where the suites look for it
(``s3://recon-demo-landing/{env}/{cohort_id}/<dataset>/part-0000.csv``), loads the batch with the
built-in loader into the session's ``transform`` schema, and runs every cohort_mini_recon_1*.yaml.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from recon_operators.demo import services
from recon_operators.demo.faults import Fault, with_faults
from recon_operators.demo.generator import CohortSpec, PrefixSpec, generate, write_landing
from recon_operators.demo.loaders import load_transform
from recon_operators.engine.adapters.files import s3_filesystem
from recon_operators.engine.opener import open_side
from recon_operators.engine.runner import run_suite
from recon_operators.engine.scope import Scope
from recon_operators.engine.spec import load_suite
from recon_operators.migration.landing import NON_MIGRATABLE, BatchRange

pytestmark = pytest.mark.integration

SUITES = sorted((Path(__file__).resolve().parents[2] / "include/config/suites").glob("cohort_mini_recon_1*.yaml"))
BUCKET = "recon-demo-landing"
ENV = "t"


@pytest.fixture
def landed(airflow_env: dict[str, str], moto_server: services.MotoServer) -> dict[str, Any]:
    """One cohort of one 80-MSISDN batch landed on moto S3; returns its scope."""
    cohort_id = f"M{uuid.uuid4().hex[:8]}"
    start = 628150000000 + uuid.uuid4().int % 9000 * 1000
    batch = BatchRange("B001", str(start), str(start + 79))
    spec = CohortSpec(cohort_id, [PrefixSpec("P62815", "62815", [batch])], seed=5, non_migratable_rate=0.15)
    s3 = moto_server.client("s3")
    if BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=BUCKET)
    fs = s3_filesystem(endpoint_url=moto_server.endpoint_url, access_key="testing", secret_key="testing")
    write_landing(generate(spec), filesystem=fs, base_path=f"s3://{BUCKET}/{ENV}", cohort_id=cohort_id)
    return {
        "env": ENV,
        "cohort_id": cohort_id,
        "prefix_id": "P62815",
        "prefix": "62815",
        "batch_id": "B001",
        "msisdn_start": batch.msisdn_start,
        "msisdn_end": batch.msisdn_end,
        "fs": fs,
    }


def load(scope: dict[str, Any], dsn: str, faults: list[dict[str, Any]] = ()) -> None:
    conn = psycopg2.connect(dsn)
    try:
        with_faults(load_transform, Fault.from_conf(faults))(
            landing_fs=scope["fs"],
            landing_base=f"s3://{BUCKET}/{ENV}",
            cohort_id=scope["cohort_id"],
            batch=BatchRange.of_scope(scope),
            pg_conn=conn,
        )
    finally:
        conn.close()


def verdicts(scope: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Per suite: check (with group) -> status."""
    values = {k: v for k, v in scope.items() if k != "fs"}
    out: dict[str, dict[str, str]] = {}
    for path in SUITES:
        suite = load_suite(path)
        results = run_suite(suite, Scope.from_mapping({**values, "stage": "mini_recon_1"}), open_side)
        out[suite.name] = {f"{r.check_name}[{r.group}]" if r.group else r.check_name: r.status.value for r in results}
    return out


def failing(found: dict[str, dict[str, str]]) -> dict[str, list[str]]:
    return {
        suite: sorted(c for c, s in checks.items() if s != "Match")
        for suite, checks in found.items()
        if any(s != "Match" for s in checks.values())
    }


def test_every_mini_recon_1_suite_matches_a_clean_load(landed: dict[str, Any], databases: dict[str, str]) -> None:
    load(landed, services.pg_dsn(databases["transform"]))
    found = verdicts(landed)
    assert {p.stem for p in SUITES} >= {
        "cohort_mini_recon_1",
        "cohort_mini_recon_1_non_migratable",
        "cohort_mini_recon_1_addons",
        "cohort_mini_recon_1_vouchers",
    }
    assert failing(found) == {}
    assert all(len(checks) >= 3 for checks in found.values())


def test_faults_show_in_the_suite_that_owns_the_data(landed: dict[str, Any], databases: dict[str, str]) -> None:
    dsn = services.pg_dsn(databases["transform"])
    load(
        landed,
        dsn,
        [
            {"stage": "transform", "kind": "drop", "dataset": "addons", "n": 1},
            {"stage": "transform", "kind": "drift", "dataset": "payments", "column": "amount", "delta": "0.01", "n": 1},
            {
                "stage": "transform",
                "kind": "flip",
                "dataset": "vouchers",
                "column": "voucher_status",
                "to_value": "REDEEMED",
                "n": 1,
            },
        ],
    )
    conn = psycopg2.connect(dsn)
    try:  # one excluded subscriber lost from the exclusion record
        with conn, conn.cursor() as cur:
            cur.execute(
                f"DELETE FROM transform.{NON_MIGRATABLE} WHERE msisdn = (SELECT min(msisdn) FROM "
                f"transform.{NON_MIGRATABLE} WHERE cohort_id = %s)",
                (landed["cohort_id"],),
            )
            assert cur.rowcount == 1
    finally:
        conn.close()
    bad = failing(verdicts(landed))
    assert set(bad) == {
        "cohort_mini_recon_1_addons",
        "cohort_mini_recon_1_payments",
        "cohort_mini_recon_1_vouchers",
        "cohort_mini_recon_1_non_migratable",
    }
    assert "addon_rows" in bad["cohort_mini_recon_1_addons"]
    assert bad["cohort_mini_recon_1_payments"] == ["payment_amount_total", "payment_fingerprint"]
    assert "voucher_rows" not in bad["cohort_mini_recon_1_vouchers"]
    assert "voucher_fingerprint" in bad["cohort_mini_recon_1_vouchers"]
    assert "non_migratable_count" in bad["cohort_mini_recon_1_non_migratable"]
    assert any(c.startswith("non_migratable_by_reason[") for c in bad["cohort_mini_recon_1_non_migratable"])
