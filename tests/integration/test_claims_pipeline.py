"""The daily claims run on real Postgres and moto S3: each file-level status, the CSV edge cases,
metrics against a known truth, a crash half-way, and reruns of the day."""

from __future__ import annotations

import dataclasses
import json

import psycopg2
import pytest

from recon_operators.claims import storage
from recon_operators.claims.pipeline import reconcile_day
from tests.integration.claims_data import DAY, HEADER, claims_config, keys_under, put, rows, store_rows, to_csv

pytestmark = pytest.mark.integration


@pytest.fixture
def config(moto_server, airflow_env):
    return claims_config(moto_server)


@pytest.fixture
def run(moto_server, store_dsn):
    """Run the day as the DAG does, with this session's store as both stage and store database."""

    def go(config, day=DAY):
        return reconcile_day(
            config,
            day,
            s3=moto_server.client("s3"),
            stage=lambda: psycopg2.connect(store_dsn),
            store=lambda: psycopg2.connect(store_dsn),
        )

    return go


def known_pair() -> tuple[bytes, bytes]:
    """OLD 50 rows; NEW drops 3, adds 2, changes 4 (3 amounts, 1 provider), duplicates one key."""
    old = rows(50)
    new = [list(r) for r in old[3:]]
    for r in new[:3]:
        r[4] = "999.99"
    new[10][3] = "P999"
    new += [
        ["00000000000000AA", "C900001", "20260131", "P001", "1.00", "extra a"],
        ["00000000000000AB", "C900002", "20260131", "P001", "2.00", "extra b"],
    ]
    new.append(list(new[20]))  # the same key twice in NEW
    return to_csv(HEADER, old), to_csv(HEADER, new)


def test_metrics_match_the_known_truth_and_inputs_move_after_the_write(config, run, moto_server, store_conn):
    old, new = known_pair()
    put(moto_server, config, "claims_20260131.csv", old)
    put(moto_server, config, "claims_20260131_NEWSYSTEM.csv", new)

    outcome = run(config)

    assert outcome.status == "SUCCESS", outcome.message
    got = store_rows(store_conn, config)
    assert got["log"][0][1:4] == ("SUCCESS", "claims_20260131.csv", "claims_20260131_NEWSYSTEM.csv")
    # 50 OLD rows; NEW: 47 kept + 2 extra + 1 duplicate row = 50; the duplicated key is not compared.
    assert got["summary"] == [(50, 50, 46, 3, 2, 4, 0, 1, ["DESYNPUF_ID", "CLM_ID"])]
    assert dict(got["by_column"]) == {"CLM_FROM_DT": 0, "PRVDR_NUM": 1, "CLM_PMT_AMT": 3, "NOTE": 0}
    kinds = [kind for _, kind, _ in got["sample"]]
    assert kinds.count("changed") == 4 and kinds.count("missing_in_new") == 3
    assert kinds.count("extra_in_new") == 2 and kinds.count("duplicate_in_new") == 1
    changed = {key: payload for key, kind, payload in got["sample"] if kind == "changed"}
    assert changed[f"{1003:016X}|C000003"] == {"CLM_PMT_AMT": "21.50~999.99"}
    prefixes = config.prefixes_for(DAY)
    assert keys_under(moto_server, config.bucket, prefixes.inbound) == []
    assert keys_under(moto_server, config.bucket, prefixes.processed) == [
        prefixes.processed + "claims_20260131.csv",
        prefixes.processed + "claims_20260131_NEWSYSTEM.csv",
    ]
    artifact = moto_server.client("s3").get_object(
        Bucket=config.output_bucket, Key=prefixes.output + "mismatch_by_column.csv"
    )
    assert artifact["Body"].read().decode().splitlines()[1:] == [
        "CLM_FROM_DT,0",
        "PRVDR_NUM,1",
        "CLM_PMT_AMT,3",
        "NOTE,0",
    ]
    assert len(outcome.artifacts) == 3


def test_sample_limit_caps_each_kind(moto_server, airflow_env, run, store_conn):
    config = claims_config(moto_server, sample_limit=1)
    old, new = known_pair()
    put(moto_server, config, "a.csv", old)
    put(moto_server, config, "a_NEWSYSTEM.csv", new)
    assert run(config).status == "SUCCESS"
    kinds = sorted(kind for _, kind, _ in store_rows(store_conn, config)["sample"])
    assert kinds == ["changed", "duplicate_in_new", "extra_in_new", "missing_in_new"]


def test_no_files_is_a_logged_run(config, run, store_conn):
    outcome = run(config)
    assert outcome.status == "NO_FILES"
    log = store_rows(store_conn, config)
    assert [row[1] for row in log["log"]] == ["NO_FILES"] and log["summary"] == []


@pytest.mark.parametrize("names", [["only.csv"], ["a.csv", "b.csv", "c_NEWSYSTEM.csv"]])
def test_not_exactly_two_files(config, run, moto_server, store_conn, names):
    for name in names:
        put(moto_server, config, name, to_csv(HEADER, rows(2)))
    outcome = run(config)
    assert outcome.status == "INVALID_FILE_COUNT"
    assert outcome.message.startswith(f"expected 2 files (OLD and NEW), found {len(names)}")
    assert store_rows(store_conn, config)["log"][0][1] == "INVALID_FILE_COUNT"
    assert len(keys_under(moto_server, config.bucket, config.prefixes_for(DAY).inbound)) == len(names)


@pytest.mark.parametrize(
    "names, reason",
    [
        (["a.csv", "b.csv"], "neither name contains 'NEWSYSTEM'"),
        (["a_NEWSYSTEM.csv", "b_NEWSYSTEM.csv"], "both names contain"),
    ],
)
def test_old_and_new_cannot_be_told_apart(config, run, moto_server, names, reason):
    for name in names:
        put(moto_server, config, name, to_csv(HEADER, rows(2)))
    outcome = run(config)
    assert outcome.status == "INVALID_FILE" and reason in outcome.message


def test_configured_marker_tells_new_from_old(moto_server, airflow_env, run):
    config = claims_config(moto_server, new_marker="TARGET")
    put(moto_server, config, "x.csv", to_csv(HEADER, rows(5)))
    put(moto_server, config, "x_TARGET.csv", to_csv(HEADER, rows(4)))
    outcome = run(config)
    assert outcome.status == "SUCCESS" and outcome.summary["missing_in_new"] == 1


@pytest.mark.parametrize(
    "old, new, message",
    [
        (b"", to_csv(HEADER, rows(2)), "OLD file old.csv is empty (no header line)"),
        (to_csv(HEADER, rows(2)), b"\xef\xbb\xbf\r\n", "NEW file old_NEWSYSTEM.csv is empty (no header line)"),
        (
            to_csv(HEADER, rows(2)),
            to_csv(HEADER[:-1] + ["REMARK"], [r[:-1] + ["x"] for r in rows(2)]),
            "OLD and NEW headers differ (only in OLD: NOTE; only in NEW: REMARK)",
        ),
        (
            to_csv(HEADER, rows(2)),
            to_csv(["DESYNPUF_ID"] + HEADER[2:], [r[:1] + r[2:] for r in rows(2)]),
            "NEW file has no column CLM_ID",
        ),
        (
            to_csv(HEADER, rows(2)),
            to_csv(HEADER, rows(2)) + b"X,Y,Z\n",
            "NEW file old_NEWSYSTEM.csv: line 4: missing data for column",
        ),
        (to_csv(HEADER, rows(2)) + b'A,B,"unterminated\n', to_csv(HEADER, rows(2)), "unterminated CSV quoted field"),
        (to_csv(HEADER + ["CLM_id"], [r + ["1"] for r in rows(2)]), to_csv(HEADER, rows(2)), "twice"),
    ],
)
def test_bad_files_are_reported_and_left_in_place(config, run, moto_server, store_conn, old, new, message):
    put(moto_server, config, "old.csv", old)
    put(moto_server, config, "old_NEWSYSTEM.csv", new)
    outcome = run(config)
    assert outcome.status == "INVALID_FILE", outcome
    assert message in outcome.message
    got = store_rows(store_conn, config)
    assert got["log"][0][1] == "INVALID_FILE" and message in got["log"][0][4] and got["summary"] == []
    assert len(keys_under(moto_server, config.bucket, config.prefixes_for(DAY).inbound)) == 2


def test_bom_crlf_and_quoted_commas_and_newlines_load_as_the_same_data(config, run, moto_server, store_conn):
    body = [
        ["A1", "C1", "20260131", "P1", "10.50", "has, a comma"],
        ["A2", "C2", "20260131", "P2", "11.00", 'two\r\nlines and "quotes"'],
        ["A3", "C3", "20260131", "P3", "", ""],
    ]
    put(moto_server, config, "old.csv", b"\xef\xbb\xbf" + to_csv(HEADER, body, newline="\r\n"))
    put(moto_server, config, "new_NEWSYSTEM.csv", to_csv(HEADER, body))
    outcome = run(config)
    assert outcome.status == "SUCCESS", outcome.message
    assert outcome.summary["old_rows"] == outcome.summary["new_rows"] == outcome.summary["matched_keys"] == 3
    assert outcome.summary["changed_rows"] == 0
    assert all(count == 0 for _, count in store_rows(store_conn, config)["by_column"])


def test_quoted_newline_difference_is_a_changed_note(config, run, moto_server, store_conn):
    put(moto_server, config, "old.csv", to_csv(HEADER, [["A1", "C1", "d", "p", "1", "one\nline"]]))
    put(moto_server, config, "new_NEWSYSTEM.csv", to_csv(HEADER, [["A1", "C1", "d", "p", "1", "one, line"]]))
    assert run(config).summary["changed_rows"] == 1
    assert store_rows(store_conn, config)["sample"] == [("A1|C1", "changed", {"NOTE": "one\nline~one, line"})]


def test_header_only_file_is_a_day_without_rows(config, run, moto_server):
    put(moto_server, config, "old.csv", ",".join(HEADER).encode() + b"\r\n")
    put(moto_server, config, "new_NEWSYSTEM.csv", to_csv(HEADER, rows(3)))
    outcome = run(config)
    assert outcome.status == "SUCCESS"
    assert (outcome.summary["old_rows"], outcome.summary["extra_in_new"], outcome.summary["matched_keys"]) == (0, 3, 0)


def test_pii_in_samples_is_masked(config, run, moto_server, store_conn):
    header = ["CLM_ID", "MSISDN", "EMAIL"]
    put(moto_server, config, "old.csv", to_csv(header, [["C1", "628111234567", "ann@example.com"]]))
    put(moto_server, config, "new_NEWSYSTEM.csv", to_csv(header, [["C1", "628119999999", "bob@example.com"]]))
    outcome = run(dataclasses.replace(config, key_columns=("CLM_ID",)))
    assert outcome.status == "SUCCESS", outcome.message
    payload = store_rows(store_conn, config)["sample"][0][2]
    text = json.dumps(payload)
    assert "628111234567" not in text and "ann@example.com" not in text
    assert set(payload) == {"MSISDN", "EMAIL"}


def test_crash_half_way_leaves_inputs_and_no_metrics_then_rerun_succeeds(
    config, run, moto_server, store_conn, monkeypatch
):
    old, new = known_pair()
    put(moto_server, config, "old.csv", old)
    put(moto_server, config, "old_NEWSYSTEM.csv", new)
    real_put = storage.put_text

    def failing_upload(s3, bucket, key, text, content_type="text/csv"):
        if key.endswith("mismatch_detail_sample.csv"):
            raise OSError("S3 upload refused")
        return real_put(s3, bucket, key, text, content_type)

    monkeypatch.setattr(storage, "put_text", failing_upload)
    with pytest.raises(OSError, match="S3 upload refused"):
        run(config)
    got = store_rows(store_conn, config)
    assert [r[1] for r in got["log"]] == ["FAILED"] and "S3 upload refused" in got["log"][0][4]
    assert got["summary"] == got["by_column"] == got["sample"] == []
    assert len(keys_under(moto_server, config.bucket, config.prefixes_for(DAY).inbound)) == 2

    monkeypatch.setattr(storage, "put_text", real_put)
    assert run(config).status == "SUCCESS"
    assert store_rows(store_conn, config)["summary"][0][:6] == (50, 50, 46, 3, 2, 4)


def test_rerun_of_a_finished_day_reads_processed_and_writes_the_same_rows(config, run, moto_server, store_conn):
    old, new = known_pair()
    put(moto_server, config, "old.csv", old)
    put(moto_server, config, "old_NEWSYSTEM.csv", new)
    assert run(config).status == "SUCCESS"
    first = store_rows(store_conn, config)
    again = run(config)
    assert again.status == "SUCCESS" and again.moved_to == []
    assert store_rows(store_conn, config) == first
    assert len(first["log"]) == 1
    assert len(keys_under(moto_server, config.bucket, config.prefixes_for(DAY).processed)) == 2


def test_stage_tables_are_dropped_unless_kept(config, run, moto_server, store_conn):
    put(moto_server, config, "old.csv", to_csv(HEADER, rows(3)))
    put(moto_server, config, "old_NEWSYSTEM.csv", to_csv(HEADER, rows(3)))
    assert run(config).status == "SUCCESS"
    assert run(dataclasses.replace(config, keep_stage_tables=True)).status == "SUCCESS"
    with store_conn.cursor() as cur:
        cur.execute(
            "SELECT table_name, count(*) FROM information_schema.columns WHERE table_schema = 'stage' "
            "AND table_name LIKE %s AND data_type = 'text' GROUP BY 1 ORDER BY 1",
            (f"claims_{config.dataset}_%",),
        )
        assert cur.fetchall() == [
            (f"claims_{config.dataset}_20260131_new", 6),
            (f"claims_{config.dataset}_20260131_old", 6),
        ]
