"""Subscriber record rules, timestamps, masking, modes, backoff and config validation (no services)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from recon_operators.retry import Backoff, RetriesExhausted, aws_throttling
from recon_operators.subscribers.config import SubscriberConfigError, job_type_of, load_subscriber_config
from recon_operators.subscribers.model import (
    _MASKS,
    ATTRIBUTES,
    PII_ATTRIBUTES,
    canonical_timestamp,
    masked,
    merged,
    validate,
)
from recon_operators.subscribers.provisioning import Mode, ModeError, resolve_mode
from recon_operators.subscribers.sample import BREAKS, broken, subscriber

ROOT = Path(__file__).resolve().parents[2]
GOOD = subscriber(1)


def test_a_good_row_becomes_a_canonical_record():
    record, reasons = validate({k: "" if v is None else f" {v} " for k, v in GOOD.items()})
    assert reasons == [] and record == GOOD  # trimmed; empty optional fields are None, not ''


@pytest.mark.parametrize("field", [f for f, _ in BREAKS])
def test_each_broken_row_names_its_field_and_never_its_value(field):
    bad = broken(GOOD, field)
    record, reasons = validate(bad)
    assert record is None and len(reasons) == 1 and reasons[0].startswith(f"{field}:")
    if bad[field]:
        assert bad[field] not in reasons[0]


def test_every_problem_of_a_row_is_listed():
    _, reasons = validate({"uid": "u1", "msisdn": "123", "status": "GONE"})
    assert reasons == [
        "msisdn: not E.164 (+ then 8-15 digits, no leading 0)",
        "imsi: required",
        "status: must be one of ACTIVE, INACTIVE, SUSPENDED, DELETED",
    ]


@pytest.mark.parametrize(
    "text, canonical",
    [
        ("2026-01-02T03:04:05Z", "2026-01-02T03:04:05.000Z"),
        ("2026-01-02 03:04:05.120", "2026-01-02T03:04:05.120Z"),
        ("2026-01-02T10:04:05+07:00", "2026-01-02T03:04:05.000Z"),
    ],
)
def test_timestamps_are_utc_with_milliseconds(text, canonical):
    assert canonical_timestamp(text) == canonical


@pytest.mark.parametrize("text", ["2026-01-02T03:04:05.1234Z", "02/01/2026", "2026-13-01T00:00:00Z"])
def test_timestamps_that_would_lose_or_guess_are_refused(text):
    _, reasons = validate({**GOOD, "createdAt": text})
    assert reasons and reasons[0].startswith("createdAt:")


def test_loading_the_same_data_keeps_the_timestamps():
    existing = {**GOOD, "createdAt": "2025-01-01T00:00:00.000Z", "updatedAt": "2025-06-01T00:00:00.000Z"}
    same = merged(GOOD, existing, "2026-01-01T00:00:00.000Z")
    assert same == existing
    moved = merged({**GOOD, "status": "SUSPENDED"}, existing, "2026-01-01T00:00:00.000Z")
    assert (moved["createdAt"], moved["updatedAt"]) == ("2025-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z")
    new = merged(GOOD, None, "2026-01-01T00:00:00.000Z")
    assert new["createdAt"] == new["updatedAt"] == "2026-01-01T00:00:00.000Z"


def test_every_pii_field_has_a_mask_and_masks_hide_the_value():
    assert set(_MASKS) == set(PII_ATTRIBUTES)
    shown = masked(GOOD)
    for name in PII_ATTRIBUTES:
        if GOOD[name]:
            assert shown[name] != GOOD[name], name
    assert shown["msisdn"] == "+62812*******01" and shown["uid"] == GOOD["uid"] and shown["planId"] == GOOD["planId"]
    assert set(shown) == set(ATTRIBUTES)


def test_the_mode_comes_from_the_run_then_the_variable_then_the_config():
    assert resolve_mode("legacy", "CLOUD", "DUAL_PROV") == (Mode.LEGACY, "run conf")
    assert resolve_mode(None, "CLOUD", "DUAL_PROV") == (Mode.CLOUD, "Airflow Variable")
    assert resolve_mode("", None, "DUAL_PROV") == (Mode.DUAL_PROV, "config default")
    with pytest.raises(ModeError, match="the provisioning mode Variable: .* not 'BOTH'"):
        resolve_mode(None, "BOTH", "DUAL_PROV")


def test_backoff_doubles_and_gives_up_naming_the_error():
    class Throttled(Exception):
        response = {"Error": {"Code": "ProvisionedThroughputExceededException"}}

    waits: list[float] = []
    calls = []

    def action():
        calls.append(1)
        raise Throttled()

    backoff = Backoff(attempts=4, base=0.1, factor=2.0, jitter=0.0)
    with pytest.raises(RetriesExhausted, match="ProvisionedThroughputExceededException, still after 4 attempts"):
        backoff.run(action, aws_throttling, sleep=waits.append)
    assert waits == [0.1, 0.2, 0.4] and len(calls) == 4
    with pytest.raises(ValueError):  # not transient: raised at once
        backoff.run(lambda: (_ for _ in ()).throw(ValueError("no")), aws_throttling, sleep=waits.append)
    assert len(waits) == 3


def test_job_types_from_dag_ids():
    assert job_type_of("subscriber_migration") == "migration"
    assert job_type_of("subscriber_t1_bulk_delete") == "bulk_delete"
    assert job_type_of("recon_cohort_A") is None and job_type_of("subscriber_other") is None


def test_the_shipped_config_has_the_reference_timeouts():
    config = load_subscriber_config()
    assert {t: s.timeout.total_seconds() / 60 for t, s in config.jobs.items()} == {
        "migration": 60,
        "bulk_delete": 60,
        "audit": 30,
        "export": 40,
    }
    assert config.dag_id("bulk_delete") == "subscriber_bulk_delete" and config.default_mode == "DUAL_PROV"


def test_a_bad_config_lists_every_problem_with_its_line(tmp_path):
    raw = yaml.safe_load((ROOT / "include/config/subscribers/jobs.yaml").read_text())
    raw["provisioning"]["default_mode"] = "BOTH"
    raw["cloud"]["table"] = "x"
    raw["jobs"]["export"]["format"] = "xls"
    raw["jobs"]["audit"]["schedule"] = "@continuous"
    raw["jobs"]["bulk_delete"]["retrys"] = 1
    path = tmp_path / "jobs.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    with pytest.raises(SubscriberConfigError) as caught:
        load_subscriber_config(path)
    text = str(caught.value)
    assert text.startswith("5 problems in subscriber job config")
    for needle in (
        "field provisioning.default_mode: must be one of CLOUD, LEGACY, DUAL_PROV, got 'BOTH'",
        "field cloud.table: 'x' is not allowed",
        "field jobs.export.format: must be one of csv, parquet",
        "field jobs.audit.schedule: @continuous suits only file jobs",
        "field jobs.bulk_delete.retrys: unknown key (did you mean 'retries'?)",
    ):
        assert needle in text, needle
    assert all(" line " in line for line in text.splitlines()[1:])


def test_a_key_given_twice_is_an_error_not_the_last_value(tmp_path):
    text = (
        (ROOT / "include/config/subscribers/jobs.yaml")
        .read_text()
        .replace("  scan_segments: 4", "  scan_segments: 4\n  table: other")
    )
    path = tmp_path / "jobs.yaml"
    path.write_text(text)
    with pytest.raises(SubscriberConfigError, match=r"field cloud.table: given twice \(first on line \d+\)"):
        load_subscriber_config(path)
