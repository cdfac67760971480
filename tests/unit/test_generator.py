"""The synthetic landing data: deterministic, inside its batches, exact money, faults that say what they did."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.fs as pafs
import pytest

from recon_operators.demo.generator import (
    APP_USER_RATE,
    EMPTY_EXTERNAL_RATE,
    EXTERNAL_ONLY_RATE,
    NON_MIGRATABLE_REASONS,
    SSO_SHARES,
    CohortSpec,
    PrefixSpec,
    drift_amounts,
    drop_rows,
    expected_app_login_share,
    flip_status,
    generate,
    write_landing,
)
from recon_operators.migration.landing import DATASETS, MONEY, BatchRange

BATCHES = {
    ("P811", "B1"): ("628110000000", "628110001999"),
    ("P811", "B2"): ("628110005000", "628110006499"),
    ("P852", "B1"): ("6285200000000", "6285200002499"),
}


def cohort(seed: int = 11, batches: dict = BATCHES, rate: float = 0.03) -> CohortSpec:
    prefixes: dict[str, PrefixSpec] = {}
    for (prefix_id, batch_id), (start, end) in batches.items():
        digits = "62811" if prefix_id == "P811" else "62852"
        prefix = prefixes.setdefault(prefix_id, PrefixSpec(prefix_id, digits, []))
        prefix.batches.append(BatchRange(batch_id, start, end))
    return CohortSpec("C7", list(prefixes.values()), seed=seed, non_migratable_rate=rate)


def one_batch(n: int, seed: int = 5, rate: float = 0.03) -> CohortSpec:
    start = 628120000000
    return CohortSpec(
        "BIG",
        [PrefixSpec("P812", "62812", [BatchRange("1", str(start), str(start + n - 1))])],
        seed=seed,
        non_migratable_rate=rate,
    )


@pytest.fixture(scope="module")
def tables() -> dict[str, pa.Table]:
    return generate(cohort())


@pytest.fixture(scope="module")
def large() -> dict[str, pa.Table]:
    """100k subscribers: the size a real cohort batch set has; also tightens the share checks."""
    return generate(one_batch(100_000))


def land(tables: dict[str, pa.Table], folder: Path, fmt: str) -> dict[str, bytes]:
    paths = write_landing(tables, filesystem=pafs.LocalFileSystem(), base_path=str(folder), cohort_id="C7", fmt=fmt)
    return {Path(p).parent.name: Path(p).read_bytes() for p in paths}


def csv_text(table: pa.Table) -> str:
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink)
    return sink.getvalue().to_pybytes().decode()


# ----------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path, fmt):
    first = land(generate(cohort(seed=11)), tmp_path / "a", fmt)
    again = land(generate(cohort(seed=11)), tmp_path / "b", fmt)
    other = land(generate(cohort(seed=12)), tmp_path / "c", fmt)
    assert list(first) == list(DATASETS)
    assert first == again
    assert all(first[name] != other[name] for name in DATASETS)


def test_a_batch_generates_the_same_rows_alone_or_within_its_cohort(tables):
    alone = generate(cohort(batches={("P811", "B2"): BATCHES[("P811", "B2")]}))
    for name in DATASETS:
        within = tables[name].filter(pc.is_in(tables[name]["msisdn"], value_set=alone["subscribers"]["msisdn"]))
        assert within.equals(alone[name]), name


def test_every_dataset_has_its_documented_schema_and_a_unique_key(tables):
    assert list(tables) == list(DATASETS)
    for name, info in DATASETS.items():
        assert tables[name].schema.equals(info.schema), name
        assert tables[name].column_names[0] == info.key
        assert pc.count_distinct(tables[name][info.key]).as_py() == tables[name].num_rows, name
        assert tables[name].num_rows > 0, name


# ----------------------------------------------------------------------------- subscribers


def test_msisdns_fill_their_batch_ranges_under_the_right_prefix(tables):
    subs = tables["subscribers"]
    assert subs.num_rows == sum(int(end) - int(start) + 1 for start, end in BATCHES.values())
    for row in subs.select(["msisdn", "prefix_id", "prefix", "batch_id", "cohort_id"]).to_pylist():
        start, end = BATCHES[(row["prefix_id"], row["batch_id"])]
        assert len(row["msisdn"]) == len(start) and int(start) <= int(row["msisdn"]) <= int(end)
        assert row["msisdn"].startswith(row["prefix"]) and row["cohort_id"] == "C7"
    for (prefix_id, batch_id), (start, end) in BATCHES.items():
        in_batch = subs.filter(pc.and_(pc.equal(subs["prefix_id"], prefix_id), pc.equal(subs["batch_id"], batch_id)))
        assert in_batch.num_rows == int(end) - int(start) + 1
        assert (pc.min(in_batch["msisdn"]).as_py(), pc.max(in_batch["msisdn"]).as_py()) == (start, end)


def test_every_dataset_speaks_only_of_the_cohorts_msisdns(tables):
    known = tables["subscribers"]["msisdn"]
    for name in DATASETS:
        assert pc.all(pc.is_in(tables[name]["msisdn"], value_set=known)).as_py(), name


def test_imsi_and_iccid_format_and_inventory_agrees(tables):
    subs = tables["subscribers"]
    assert all(re.fullmatch(r"51010\d{10}", imsi) for imsi in subs["imsi"].to_pylist())
    assert all(re.fullmatch(r"896210\d{13}", iccid) for iccid in subs["iccid"].to_pylist())
    assert pc.count_distinct(subs["imsi"]).as_py() == subs.num_rows
    inventory = tables["inventory"]
    assert inventory["imsi"].equals(subs["imsi"]) and inventory["msisdn"].equals(subs["msisdn"])
    retired = pc.equal(inventory["unit_status"], "RETIRED")
    assert retired.equals(pc.equal(subs["subscriber_status"], "TERMINATED"))


def test_non_migratable_share_is_close_to_the_rate_and_carries_a_reason(large):
    subs = large["subscribers"]
    non = subs.filter(pc.invert(subs["migratable"]))
    assert abs(non.num_rows / subs.num_rows - 0.03) < 0.003
    assert set(non["non_migratable_reason"].to_pylist()) == set(NON_MIGRATABLE_REASONS)
    assert subs.filter(subs["migratable"])["non_migratable_reason"].null_count == subs.num_rows - non.num_rows


def test_another_non_migratable_rate_is_honoured():
    subs = generate(one_batch(20_000, rate=0.2))["subscribers"]
    assert abs(pc.sum(pc.invert(subs["migratable"])).as_py() / subs.num_rows - 0.2) < 0.015
    assert pc.all(generate(one_batch(1_000, rate=0.0))["subscribers"]["migratable"]).as_py()


def test_subscriber_statuses_are_the_documented_ones(tables):
    statuses = set(tables["subscribers"]["subscriber_status"].to_pylist())
    assert {"ACTIVE", "SUSPENDED", "TERMINATED"} <= statuses <= {"ACTIVE", "GRACE", "SUSPENDED", "BARRED", "TERMINATED"}


# ----------------------------------------------------------------------------- app users


def test_app_user_sso_json_has_the_canonical_shape_and_documented_shares(large):
    users = large["app_users"]
    assert abs(users.num_rows / large["subscribers"].num_rows - APP_USER_RATE) < 0.01
    assert users["contact_number"].equals(users["msisdn"])
    counts = {"google": 0, "facebook": 0, "apple": 0, "external_only": 0, "empty": 0, "eligible": 0}
    texts = users["sso_connections"].to_pylist()
    for text in texts:
        doc = json.loads(text)
        assert json.dumps(doc) == text  # canonical: json.dumps formatting, fixed key order
        assert list(doc) == ["sso", "external_operator_number"] and list(doc["sso"]) == list(SSO_SHARES)
        providers = [name for name, value in doc["sso"].items() if value is not None]
        for name in providers:
            assert list(doc["sso"][name]) == ["id"] and doc["sso"][name]["id"]
            counts[name] += 1
        external = doc["external_operator_number"]
        if external:
            assert not providers and re.fullmatch(r"62857\d{8}", external)
            counts["external_only"] += 1
        counts["empty"] += external == ""
        counts["eligible"] += bool(providers or external)
    n = len(texts)
    for name, share in SSO_SHARES.items():
        assert abs(counts[name] / n - share) < 0.015, name
    no_sso = (1 - SSO_SHARES["google"]) * (1 - SSO_SHARES["facebook"]) * (1 - SSO_SHARES["apple"])
    assert abs(counts["external_only"] / n - no_sso * EXTERNAL_ONLY_RATE) < 0.01
    assert abs(counts["empty"] / n - no_sso * (1 - EXTERNAL_ONLY_RATE) * EMPTY_EXTERNAL_RATE) < 0.01
    assert abs(counts["eligible"] / n - expected_app_login_share()) < 0.01


# ----------------------------------------------------------------------------- money


def test_amounts_are_exact_decimals_in_memory_and_in_csv(tables):
    money = re.compile(r"-?\d+\.\d{4}")
    for name, info in DATASETS.items():
        for column in [f.name for f in info.schema if f.type == MONEY]:
            values = tables[name][column].to_pylist()
            assert all(isinstance(v, Decimal) and v == v.quantize(Decimal("0.01")) for v in values), (name, column)
            rendered = pacsv.read_csv(
                pa.py_buffer(csv_text(tables[name].select([column])).encode()),
                convert_options=pacsv.ConvertOptions(column_types={column: pa.string()}),
            )
            texts = rendered[column].to_pylist()
            assert all(money.fullmatch(t) for t in texts), (name, column)
            assert [Decimal(t) for t in texts] == values


def test_totals_are_exact_and_cross_dataset_balances_agree(tables):
    ledger = tables["wallet_ledger"].to_pylist()
    expected: dict[str, Decimal] = {}
    for entry in ledger:
        sign = -1 if entry["entry_type"] == "DEBIT" else 1
        expected[entry["wallet_id"]] = expected.get(entry["wallet_id"], Decimal(0)) + sign * entry["amount"]
    wallets = dict(zip(tables["wallets"]["wallet_id"].to_pylist(), tables["wallets"]["balance"].to_pylist()))
    assert wallets == expected and min(wallets.values()) >= 0
    assert tables["brm_balances"]["balance"].equals(tables["balances"]["pulsa_balance"])
    total = pc.sum(tables["balances"]["pulsa_balance"]).as_py()
    assert total == sum(tables["balances"]["pulsa_balance"].to_pylist()) and "e" not in str(total).lower()
    assert "0000000000" not in csv_text(tables["payments"]) and "e-" not in csv_text(tables["balances"])


# ----------------------------------------------------------------------------- faults


def test_drop_rows_drops_exactly_n_under_the_prefix_and_names_them(tables):
    subs = tables["subscribers"]
    dropped, keys = drop_rows(subs, 25, seed=3, where_prefix="62852")
    assert subs.num_rows - dropped.num_rows == 25 and len(set(keys)) == 25
    assert all(k.startswith("62852") for k in keys)
    assert set(subs["msisdn"].to_pylist()) - set(dropped["msisdn"].to_pylist()) == set(keys)
    assert drop_rows(subs, 25, seed=3, where_prefix="62852")[1] == keys
    assert drop_rows(subs, 25, seed=4, where_prefix="62852")[1] != keys
    assert drop_rows(subs, 0, seed=3)[0].equals(subs)
    with pytest.raises(ValueError, match="eligible"):
        drop_rows(subs, subs.num_rows + 1, seed=3)


def test_drop_rows_reports_the_datasets_own_key(tables):
    addons, keys = drop_rows(tables["addons"], 4, seed=1)
    assert all(k.startswith("AD") for k in keys)
    assert set(tables["addons"]["addon_id"].to_pylist()) - set(addons["addon_id"].to_pylist()) == set(keys)


def test_drift_amounts_moves_exactly_n_values_by_delta(tables):
    balances = tables["balances"]
    drifted, keys = drift_amounts(balances, "pulsa_balance", Decimal("-0.01"), 7, seed=9)
    assert drifted.schema.equals(balances.schema)
    before = dict(zip(balances["msisdn"].to_pylist(), balances["pulsa_balance"].to_pylist()))
    after = dict(zip(drifted["msisdn"].to_pylist(), drifted["pulsa_balance"].to_pylist()))
    changed = {k for k in before if before[k] != after[k]}
    assert changed == set(keys) and len(keys) == 7
    assert all(after[k] - before[k] == Decimal("-0.01") for k in keys)
    assert pc.sum(drifted["pulsa_balance"]).as_py() - pc.sum(balances["pulsa_balance"]).as_py() == Decimal("-0.07")
    ucoin, ucoin_keys = drift_amounts(balances, "ucoin_balance", Decimal(5), 3, seed=9, where_prefix="62811")
    assert pc.sum(ucoin["ucoin_balance"]).as_py() - pc.sum(balances["ucoin_balance"]).as_py() == 15
    assert all(k.startswith("62811") for k in ucoin_keys)
    with pytest.raises(ValueError, match="does not fit"):
        drift_amounts(balances, "pulsa_balance", Decimal("0.00001"), 1, seed=1)
    with pytest.raises(ValueError):
        drift_amounts(balances, "ucoin_balance", Decimal("0.5"), 1, seed=1)


def test_flip_status_changes_exactly_n_rows_of_the_prefix(tables):
    subs = tables["subscribers"]
    flipped, keys = flip_status(subs, "subscriber_status", "SUSPENDED", "62811", 12, seed=2)
    before = dict(zip(subs["msisdn"].to_pylist(), subs["subscriber_status"].to_pylist()))
    after = dict(zip(flipped["msisdn"].to_pylist(), flipped["subscriber_status"].to_pylist()))
    changed = {k for k in before if before[k] != after[k]}
    assert changed == set(keys) and len(keys) == 12
    assert all(k.startswith("62811") and after[k] == "SUSPENDED" and before[k] != "SUSPENDED" for k in keys)


# ----------------------------------------------------------------------------- spec and scale


@pytest.mark.parametrize(
    "batches, message",
    [
        (
            {("P811", "B1"): ("628110000000", "628110000099"), ("P811", "B2"): ("628110000050", "628110000150")},
            "overlap",
        ),
        ({("P811", "B1"): ("628120000000", "628120000099")}, "outside prefix"),
        ({("P811", "B1"): ("628110000099", "628110000000")}, "not a range"),
        ({("P811", "B1"): ("62811000x", "628110000099")}, "digit"),
    ],
)
def test_bad_specs_are_rejected_with_a_clear_message(batches, message):
    with pytest.raises(ValueError, match=message):
        generate(cohort(batches=batches))


def test_batches_are_the_domains_batch_range():
    """One idea, one place: the generator's blocks are ``migration.landing.BatchRange``."""
    spec = cohort()
    assert all(type(b) is BatchRange for p in spec.prefixes for b in p.batches)
    assert spec.size == 2000 + 1500 + 2500 == sum(b.size for p in spec.prefixes for b in p.batches)
    scope = {
        "env": "dev",
        "cohort_id": "C7",
        "batch_id": 2,
        "msisdn_start": "628110005000",
        "msisdn_end": "628110006499",
    }
    assert BatchRange.of_scope(scope) == BatchRange("2", "628110005000", "628110006499")
    for bounds in ((628110000000, 628110000099), ("628110000000", None)):
        with pytest.raises(ValueError, match="not a range of equal-length digit strings"):
            BatchRange("B1", *bounds)


def test_cohort_spec_from_config_mapping():
    spec = CohortSpec.from_mapping(
        {
            "cohort_id": "C1",
            "seed": 3,
            "prefixes": [
                {
                    "prefix_id": "P1",
                    "prefix": "62811",
                    "batches": [{"batch_id": 1, "msisdn_start": "628110000000", "msisdn_end": "628110000009"}],
                }
            ],
        }
    )
    assert spec.size == 10 and spec.prefixes[0].batches[0].batch_id == "1" and spec.non_migratable_rate == 0.03


def test_a_100k_subscriber_cohort_generates(large):
    assert large["subscribers"].num_rows == large["balances"].num_rows == large["brm_balances"].num_rows == 100_000
    assert large["addons"].num_rows > 50_000 and large["wallet_ledger"].num_rows > large["wallets"].num_rows
