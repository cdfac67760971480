"""The Mongo side against mongomock: every measure, the normalisation rules, and the canonical
values (group keys, row hashes) the SQL and file sides produce for the same data."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import mongomock
import pytest
from bson.decimal128 import Decimal128
from pymongo.errors import OperationFailure, ServerSelectionTimeoutError

from recon_operators.engine.adapters.base import AggregateRequest, Measure, SourceError
from recon_operators.engine.adapters.mongo import HASH_BATCH_SIZE, MongoAdapter, bind_filter, row_hash
from recon_operators.engine.canonical import Side, resolve
from recon_operators.engine.logical_types import text
from recon_operators.engine.normalise import ColumnRule
from recon_operators.engine.spec import SideSpec

TRIM = ColumnRule(trim=True)
UPPER = ColumnRule(trim=True, case="upper")
MONEY = ColumnRule(type="decimal", scale=2)


@pytest.fixture()
def db() -> Any:
    return mongomock.MongoClient().get_database("stage")


def source(db: Any, collection: str = "subs", **side: Any) -> MongoAdapter:
    return MongoAdapter(
        db, SideSpec(connection="mongo_stage", collection=collection, **side), connection_label="mongo_stage"
    )


def run(
    src: MongoAdapter,
    *measures: Measure,
    group_by: tuple[str, ...] = (),
    rules: dict | None = None,
    params: dict | None = None,
) -> dict:
    """As the runner asks: each column's form from its (sampled) type and the rule."""
    names = {*group_by, *(c for m in measures for c in (m.column, *m.columns) if c)}
    try:
        types = src.columns()
    except Exception:  # noqa: BLE001 - the spies and failing doubles below only aggregate
        types = {}
    columns = {}
    for name in names:
        physical = src.side.physical(name)
        logical = types.get(physical) or text(inferred=True)
        rule = (rules or {}).get(name, ColumnRule())
        columns[name] = (Side(physical, logical, rule), resolve(logical, logical, rule))
    return src.aggregate(AggregateRequest(measures=measures, group_by=group_by, columns=columns, params=params or {}))


def md5_60(text: str) -> int:
    return int(hashlib.md5(text.encode()).hexdigest()[:15], 16)


def fingerprint(*rows: str) -> str:
    return f"{len(rows)}:{sum(md5_60(r) for r in rows):x}"


# -- measures ---------------------------------------------------------------------------------


def test_every_measure_ungrouped(db: Any) -> None:
    db.subs.insert_many(
        [
            {"msisdn": "62811", "status": "ACTIVE", "balance": Decimal128("10.10")},
            {"msisdn": "62812", "status": "ACTIVE", "balance": Decimal128("2.50")},
            {"msisdn": "62813", "status": "SUSPENDED", "balance": None},
        ]
    )
    rows = run(
        source(db),
        Measure("rows", "count"),
        Measure("total", "sum", column="balance"),
        Measure("statuses", "count_distinct", column="status"),
        Measure("low", "min", column="balance"),
        Measure("high", "max", column="balance"),
        Measure("first", "min", column="msisdn"),
        Measure("active", "expression", expression={"$sum": {"$cond": [{"$eq": ["$status", "ACTIVE"]}, 1, 0]}}),
        rules={"balance": MONEY},
    )
    assert rows == {
        (): {
            "rows": 3,
            "total": Decimal("12.60"),
            "statuses": 2,
            "low": Decimal("2.50"),
            "high": Decimal("10.10"),
            "first": "62811",
            "active": Decimal(2),
        }
    }
    assert isinstance(rows[()]["rows"], int) and isinstance(rows[()]["statuses"], int)


def test_sum_is_exact_decimal_never_float(db: Any) -> None:
    db.subs.insert_many(
        [{"amount": 0.1}, {"amount": 0.2}, {"amount": Decimal128("0.000000000000000000000000001")}, {"amount": 7}]
    )
    total = run(source(db), Measure("total", "sum", column="amount"))[()]["total"]
    assert isinstance(total, Decimal)
    assert total == Decimal("7.300000000000000000000000001")  # floats would give 7.300000000000001


def test_sum_rounds_the_exact_total_half_up_to_the_scale(db: Any) -> None:
    # $round would give 0.12 (half to even); the canonical rounding is half away from zero.
    db.subs.insert_many([{"amount": Decimal128("0.100")}, {"amount": Decimal128("0.025")}])
    total = run(source(db), Measure("total", "sum", column="amount"), rules={"amount": MONEY})[()]["total"]
    assert total == Decimal("0.13") and str(total) == "0.13"


def test_group_by_gives_per_group_values(db: Any) -> None:
    db.subs.insert_many(
        [
            {"status": "ACTIVE", "plan": "A", "balance": Decimal128("1.00")},
            {"status": "ACTIVE", "plan": "B", "balance": Decimal128("2.00")},
            {"status": "ACTIVE", "plan": "B", "balance": Decimal128("4.00")},
            {"status": "SUSPENDED", "plan": "A", "balance": Decimal128("8.00")},
            {"plan": "A", "balance": Decimal128("16.00")},  # no status at all: the null group
        ]
    )
    measures = (
        Measure("rows", "count"),
        Measure("total", "sum", column="balance"),
        Measure("plans", "count_distinct", column="plan"),
        Measure("top", "max", column="balance"),
    )
    rows = run(source(db), *measures, group_by=("status",), rules={"balance": MONEY})
    assert rows == {
        ("ACTIVE",): {"rows": 3, "total": Decimal("7.00"), "plans": 2, "top": Decimal("4.00")},
        ("SUSPENDED",): {"rows": 1, "total": Decimal("8.00"), "plans": 1, "top": Decimal("8.00")},
        (None,): {"rows": 1, "total": Decimal("16.00"), "plans": 1, "top": Decimal("16.00")},
    }
    two = run(source(db), Measure("rows", "count"), group_by=("status", "plan"))
    assert two[("ACTIVE", "B")] == {"rows": 2} and two[(None, "A")] == {"rows": 1} and len(two) == 4


def test_count_distinct_ignores_nulls_and_missing_fields(db: Any) -> None:
    db.subs.insert_many([{"plan": "A"}, {"plan": "A"}, {"plan": None}, {}, {"plan": "B"}])
    assert run(source(db), Measure("plans", "count_distinct", column="plan"))[()] == {"plans": 2}


def test_expression_is_passed_into_group_as_is(db: Any) -> None:
    db.subs.insert_many(
        [{"status": "ACTIVE", "balance": 5}, {"status": "ACTIVE", "balance": 7}, {"status": "GONE", "balance": 100}]
    )
    rows = run(
        source(db),
        Measure(
            "active_balance",
            "expression",
            expression={"$sum": {"$cond": [{"$eq": ["$status", "ACTIVE"]}, "$balance", 0]}},
        ),
        Measure("largest", "expression", expression={"$max": "$balance"}),
    )
    assert rows == {(): {"active_balance": Decimal(12), "largest": Decimal(100)}}


def test_expression_must_be_one_accumulator_document(db: Any) -> None:
    db.subs.insert_one({"a": 1})
    with pytest.raises(SourceError, match="one accumulator document"):
        run(source(db), Measure("bad", "expression", expression="SUM(a)"))


def test_min_max_types_timestamps_as_text_integers_as_decimal(db: Any) -> None:
    db.subs.insert_many(
        [
            {"created": datetime(2024, 3, 1, 8, 30), "calls": 12},
            {"created": datetime(2023, 12, 31, 23, 59, 59), "calls": 3},
            {"created": None, "calls": None},
        ]
    )
    rows = run(
        source(db),
        Measure("first", "min", column="created"),
        Measure("last", "max", column="created"),
        Measure("fewest", "min", column="calls"),
        Measure("most", "max", column="calls"),
        rules={"created": ColumnRule(type="timestamp"), "calls": ColumnRule(type="integer")},
    )
    assert rows[()] == {
        "first": "2023-12-31 23:59:59",
        "last": "2024-03-01 08:30:00",
        "fewest": Decimal(3),
        "most": Decimal(12),
    }


def test_min_max_of_decimals_compare_as_numbers_not_text(db: Any) -> None:
    db.subs.insert_many([{"b": Decimal128("9.5")}, {"b": Decimal128("10.25")}, {"b": 100}, {"b": "-1.004"}])
    rows = run(source(db), Measure("low", "min", column="b"), Measure("high", "max", column="b"), rules={"b": MONEY})
    assert rows[()] == {"low": Decimal("-1.00"), "high": Decimal("100.00")}


def test_untyped_numeric_min_max_are_decimals(db: Any) -> None:
    db.subs.insert_many([{"n": 9}, {"n": 10}, {"n": 2.5}])
    rows = run(source(db), Measure("low", "min", column="n"), Measure("high", "max", column="n"))
    assert rows[()] == {"low": Decimal("2.5"), "high": Decimal(10)}


# -- normalisation ----------------------------------------------------------------------------


def test_trim_and_case_merge_raw_values_into_one_group(db: Any) -> None:
    db.subs.insert_many([{"status": "active "}, {"status": " Active"}, {"status": "ACTIVE"}, {"status": "gone"}])
    rows = run(
        source(db),
        Measure("rows", "count"),
        Measure("statuses", "count_distinct", column="status"),
        group_by=("status",),
        rules={"status": UPPER},
    )
    assert rows == {("ACTIVE",): {"rows": 3, "statuses": 1}, ("GONE",): {"rows": 1, "statuses": 1}}
    assert run(source(db), Measure("d", "count_distinct", column="status"), rules={"status": UPPER})[()] == {"d": 2}
    assert run(source(db), Measure("d", "count_distinct", column="status"))[()] == {"d": 4}


def test_case_folding_is_unicode_like_sql(db: Any) -> None:
    db.subs.insert_many([{"city": "münchen"}, {"city": "MÜNCHEN"}])
    rows = run(source(db), Measure("rows", "count"), group_by=("city",), rules={"city": UPPER})
    assert rows == {("MÜNCHEN",): {"rows": 2}}


def test_min_max_of_trimmed_text_use_the_normalised_values(db: Any) -> None:
    db.subs.insert_many([{"name": "  zed"}, {"name": "bob "}, {"name": "Carl"}])
    rows = run(
        source(db),
        Measure("first", "min", column="name"),
        Measure("last", "max", column="name"),
        rules={"name": ColumnRule(trim=True, case="lower")},
    )
    assert rows[()] == {"first": "bob", "last": "zed"}
    raw = run(source(db), Measure("first", "min", column="name"), Measure("last", "max", column="name"))
    assert raw[()] == {"first": "  zed", "last": "bob "}


def test_empty_as_null_makes_empty_and_null_the_same(db: Any) -> None:
    db.subs.insert_many([{"email": ""}, {"email": None}, {}, {"email": "  "}, {"email": "a@x.io"}])
    rule = ColumnRule(trim=True, empty_as_null=True)
    rows = run(source(db), Measure("rows", "count"), group_by=("email",), rules={"email": rule})
    assert rows == {(None,): {"rows": 4}, ("a@x.io",): {"rows": 1}}
    distinct = run(
        source(db),
        Measure("d", "count_distinct", column="email"),
        Measure("low", "min", column="email"),
        rules={"email": rule},
    )
    assert distinct[()] == {"d": 1, "low": "a@x.io"}
    # without trim, Mongo's own $min runs: '' must still not be the minimum
    no_trim = run(source(db), Measure("low", "min", column="email"), rules={"email": ColumnRule(empty_as_null=True)})
    assert no_trim[()] == {"low": "  "}
    assert run(source(db), Measure("low", "min", column="email"))[()] == {"low": ""}


def test_decimal_scale_makes_1_1_and_1_10_the_same(db: Any) -> None:
    db.subs.insert_many(
        [
            {"fee": Decimal128("1.1")},
            {"fee": Decimal128("1.10")},
            {"fee": 1.1},
            {"fee": "1.100"},
            {"fee": Decimal128("2.005")},
        ]
    )
    rows = run(source(db), Measure("rows", "count"), group_by=("fee",), rules={"fee": MONEY})
    assert rows == {("1.10",): {"rows": 4}, ("2.01",): {"rows": 1}}
    distinct = run(source(db), Measure("d", "count_distinct", column="fee"), rules={"fee": MONEY})
    assert distinct[()] == {"d": 2}
    hashes = run(source(db), Measure("h", "hash", columns=("fee",)), rules={"fee": MONEY})
    assert hashes[()]["h"] == fingerprint("1.10", "1.10", "1.10", "1.10", "2.01")


def test_decimal_without_scale_groups_by_value(db: Any) -> None:
    """No declared scale: the canonical decimal drops trailing zeros, so 1.1 and 1.10 are one group."""
    db.subs.insert_many([{"fee": Decimal128("1.1")}, {"fee": Decimal128("1.10")}, {"fee": Decimal128("2")}])
    rows = run(source(db), Measure("rows", "count"), group_by=("fee",), rules={"fee": ColumnRule(type="decimal")})
    assert rows == {("1.1",): {"rows": 2}, ("2",): {"rows": 1}}


def test_timezone_rule_turns_naive_local_times_into_utc(db: Any) -> None:
    # Jakarta wrote local wall-clock times (+07:00); the UTC side holds the same instants.
    db.local.insert_many([{"at": datetime(2024, 1, 1, 7, 0)}, {"at": datetime(2024, 1, 2, 6, 30)}])
    db.utc.insert_many([{"at": datetime(2024, 1, 1, 0, 0)}, {"at": datetime(2024, 1, 1, 23, 30)}])
    jakarta = {"at": ColumnRule(type="timestamp", timezone="+07:00")}
    utc = {"at": ColumnRule(type="timestamp")}
    measures = (
        Measure("first", "min", column="at"),
        Measure("last", "max", column="at"),
        Measure("h", "hash", columns=("at",)),
    )
    local = run(source(db, "local"), *measures, rules=jakarta)
    assert local == run(source(db, "utc"), *measures, rules=utc)
    assert local[()]["first"] == "2024-01-01 00:00:00" and local[()]["last"] == "2024-01-01 23:30:00"
    assert local[()]["h"] == fingerprint("2024-01-01 00:00:00", "2024-01-01 23:30:00")
    by_day = run(source(db, "local"), Measure("rows", "count"), group_by=("at",), rules={"at": ColumnRule(type="date")})
    assert set(by_day) == {("2024-01-01",), ("2024-01-02",)}  # date: no zone shift of its own


def test_tz_aware_clients_get_the_same_canonical_times() -> None:
    client = mongomock.MongoClient(tz_aware=True)
    database = client.get_database("stage")
    database.subs.insert_one({"at": datetime(2024, 1, 1, 7, 0, tzinfo=UTC)})
    rows = run(
        source(database),
        Measure("first", "min", column="at"),
        Measure("h", "hash", columns=("at",)),
        rules={"at": ColumnRule(type="timestamp", timezone="+07:00")},
    )
    assert rows[()] == {"first": "2024-01-01 00:00:00", "h": fingerprint("2024-01-01 00:00:00")}


# -- hash -------------------------------------------------------------------------------------


def test_hash_matches_the_sql_sides_canonical_row(db: Any) -> None:
    """Same data as the SQL side: trimmed msisdn, trimmed upper status, balance at scale 2."""
    db.subs.insert_one({"msisdn": " 62811 ", "status": "active ", "balance": Decimal128("10.10")})
    rules = {"msisdn": TRIM, "status": UPPER, "balance": MONEY}
    rows = run(
        source(db),
        Measure("rows", "count"),
        Measure("h", "hash", columns=("msisdn", "status", "balance")),
        group_by=("status",),
        rules=rules,
    )
    expected = int(hashlib.md5(b"62811|ACTIVE|10.10").hexdigest()[:15], 16)
    assert rows == {("ACTIVE",): {"rows": 1, "h": f"1:{expected:x}"}}
    assert row_hash(["62811", "ACTIVE", "10.10"]) == expected


def test_hash_is_independent_of_insertion_order(db: Any) -> None:
    docs = [{"k": f"{i:05d}", "amount": Decimal128(f"{i}.25"), "status": ["A", "B", None][i % 3]} for i in range(50)]
    db.forward.insert_many([dict(d) for d in docs])
    db.backward.insert_many([dict(d) for d in reversed(docs)])
    measure = Measure("h", "hash", columns=("k", "amount", "status"))
    rules = {"amount": MONEY}
    forward = run(source(db, "forward"), measure, rules=rules)
    assert forward == run(source(db, "backward"), measure, rules=rules)
    assert forward[()]["h"].startswith("50:")
    assert run(source(db, "forward"), measure, group_by=("status",), rules=rules) == run(
        source(db, "backward"), measure, group_by=("status",), rules=rules
    )


def test_hash_changes_when_one_value_differs_by_a_cent(db: Any) -> None:
    db.a.insert_many([{"k": "1", "amount": Decimal128("10.10")}, {"k": "2", "amount": Decimal128("3.00")}])
    db.b.insert_many([{"k": "1", "amount": Decimal128("10.11")}, {"k": "2", "amount": Decimal128("3.00")}])
    measure = Measure("h", "hash", columns=("k", "amount"))
    a = run(source(db, "a"), measure, rules={"amount": MONEY})[()]["h"]
    b = run(source(db, "b"), measure, rules={"amount": MONEY})[()]["h"]
    assert a != b and a.split(":")[0] == b.split(":")[0] == "2"


def test_hash_tells_null_from_empty_and_from_the_text_null_mark(db: Any) -> None:
    db.subs.insert_many([{"a": None, "b": "x"}, {"a": "", "b": "x"}, {"b": "x"}])
    rows = run(source(db), Measure("h", "hash", columns=("a", "b")))
    assert rows[()]["h"] == fingerprint("\\N|x", "|x", "\\N|x")


# -- filters, pipeline, columns ---------------------------------------------------------------


def test_filter_parameters_are_bound_recursively(db: Any) -> None:
    db.subs.insert_many(
        [
            {"cohort": "C1", "batch": 7, "status": "A"},
            {"cohort": "C1", "batch": 8, "status": "B"},
            {"cohort": "C2", "batch": 7, "status": "A"},
            {"cohort": "C1", "batch": 7, "status": "Z"},
        ]
    )
    side = {
        "filter": {
            "cohort": ":cohort_id",
            "$or": [{"batch": ":batch_id"}, {"status": {"$in": [":extra"]}}],
            "status": {"$ne": "Z"},
        },
        "params": {"extra": "B"},
    }
    rows = run(source(db, **side), Measure("rows", "count"), params={"cohort_id": "C1", "batch_id": 7})
    assert rows == {(): {"rows": 2}}


def test_missing_filter_parameter_is_a_clear_error(db: Any) -> None:
    db.subs.insert_one({"batch": 7})
    src = source(db, filter={"batch": ":batch_id"})
    with pytest.raises(SourceError) as info:
        run(src, Measure("rows", "count"), params={"cohort_id": "C1"})
    assert str(info.value) == "mongo filter needs :batch_id but the scope has no batch_id"
    with pytest.raises(SourceError, match=":batch_id"):
        run(src, Measure("rows", "count"), params={"batch_id": ""})


def test_bind_filter_leaves_other_strings_alone() -> None:
    bound = bind_filter({"t": "10:30", "x": ":a", "y": [":a", "a:b", {"z": "::a"}]}, {"a": 1})
    assert bound == {"t": "10:30", "x": 1, "y": [1, "a:b", {"z": "::a"}]}


def test_columns_map_logical_names_to_fields_and_dotted_paths(db: Any) -> None:
    db.subs.insert_many(
        [
            {"MSISDN_NO": "62811", "profile": {"status": "active", "balance": Decimal128("1.50")}},
            {"MSISDN_NO": "62812", "profile": {"status": "Active ", "balance": Decimal128("2.50")}},
            {"MSISDN_NO": "62813", "profile": {}},  # missing nested field: null, not an error
            {"MSISDN_NO": "62814"},
        ]
    )
    src = source(db, columns={"msisdn": "MSISDN_NO", "status": "profile.status", "balance": "profile.balance"})
    rows = run(
        src,
        Measure("rows", "count"),
        Measure("total", "sum", column="balance"),
        Measure("h", "hash", columns=("msisdn", "status")),
        group_by=("status",),
        rules={"status": UPPER, "balance": MONEY},
    )
    assert rows == {
        ("ACTIVE",): {"rows": 2, "total": Decimal("4.00"), "h": fingerprint("62811|ACTIVE", "62812|ACTIVE")},
        (None,): {"rows": 2, "total": Decimal("0.00"), "h": fingerprint("62813|\\N", "62814|\\N")},
    }


def test_a_column_mapped_to_an_operator_is_refused(db: Any) -> None:
    db.subs.insert_one({"a": 1})
    with pytest.raises(SourceError, match="not a field path"):
        run(source(db, columns={"a": "$where"}), Measure("d", "count_distinct", column="a"))


def test_pipeline_stages_run_before_grouping(db: Any) -> None:
    db.subs.insert_many(
        [
            {
                "msisdn": "1",
                "bundles": [
                    {"plan": "DATA", "price": Decimal128("5.00")},
                    {"plan": "VOICE", "price": Decimal128("3.00")},
                ],
            },
            {"msisdn": "2", "bundles": [{"plan": "DATA", "price": Decimal128("7.00")}]},
            {"msisdn": "3", "bundles": [], "deleted": True},
        ]
    )
    pipeline = (
        {"$match": {"deleted": {"$ne": True}}},
        {"$unwind": "$bundles"},
        {"$project": {"msisdn": 1, "plan": "$bundles.plan", "price": "$bundles.price"}},
    )
    rows = run(
        source(db, pipeline=pipeline),
        Measure("rows", "count"),
        Measure("total", "sum", column="price"),
        Measure("h", "hash", columns=("msisdn", "price")),
        group_by=("plan",),
        rules={"price": MONEY},
    )
    assert rows == {
        ("DATA",): {"rows": 2, "total": Decimal("12.00"), "h": fingerprint("1|5.00", "2|7.00")},
        ("VOICE",): {"rows": 1, "total": Decimal("3.00"), "h": fingerprint("1|3.00")},
    }


def test_pipeline_stages_that_write_are_refused(db: Any) -> None:
    db.subs.insert_one({"a": 1})
    with pytest.raises(SourceError, match=r"\$out writes data"):
        run(source(db, pipeline=({"$out": "elsewhere"},)), Measure("rows", "count"))


def test_expressions_combine_across_raw_values_of_one_group(db: Any) -> None:
    db.subs.insert_many([{"status": "active", "v": 1}, {"status": "ACTIVE ", "v": 2}, {"status": "gone", "v": 4}])
    rows = run(
        source(db),
        Measure("s", "expression", expression={"$sum": "$v"}),
        Measure("hi", "expression", expression={"$max": "$v"}),
        group_by=("status",),
        rules={"status": UPPER},
    )
    assert rows == {("ACTIVE",): {"s": Decimal(3), "hi": Decimal(2)}, ("GONE",): {"s": Decimal(4), "hi": Decimal(4)}}
    with pytest.raises(SourceError, match=r"\$avg"):
        run(
            source(db),
            Measure("avg", "expression", expression={"$avg": "$v"}),
            group_by=("status",),
            rules={"status": UPPER},
        )
    plain = run(source(db), Measure("avg", "expression", expression={"$avg": "$v"}), group_by=("status",))
    assert plain[("gone",)] == {"avg": Decimal(4)}


# -- empty, missing, errors -------------------------------------------------------------------


def test_empty_collection_gives_zeros(db: Any) -> None:
    db.create_collection("subs")
    measures = (
        Measure("rows", "count"),
        Measure("total", "sum", column="balance"),
        Measure("d", "count_distinct", column="msisdn"),
        Measure("low", "min", column="balance"),
        Measure("h", "hash", columns=("msisdn",)),
        Measure("active", "expression", expression={"$sum": 1}),
    )
    rows = run(source(db), *measures, rules={"balance": MONEY})
    assert rows == {(): {"rows": 0, "total": Decimal(0), "d": 0, "low": None, "h": "0:0", "active": Decimal(0)}}
    assert run(source(db), *measures, group_by=("status",), rules={"balance": MONEY}) == {}


def test_filter_matching_nothing_is_like_an_empty_side(db: Any) -> None:
    db.subs.insert_one({"cohort": "C1", "balance": Decimal128("1.00")})
    rows = run(
        source(db, filter={"cohort": ":cohort_id"}),
        Measure("rows", "count"),
        Measure("total", "sum", column="balance"),
        params={"cohort_id": "C9"},
    )
    assert rows == {(): {"rows": 0, "total": Decimal(0)}}


def test_missing_collection_is_a_clear_error(db: Any) -> None:
    db.other.insert_one({"a": 1})
    with pytest.raises(SourceError) as info:
        run(source(db, "subscribers"), Measure("rows", "count"))
    assert str(info.value) == "mongo collection subscribers does not exist"


class _Failing:
    """A database whose server fails the way pymongo reports it."""

    name = "stage"

    def __init__(self, error: Exception, on: str):
        self.error, self.on = error, on

    def list_collection_names(self, **_: Any) -> list[str]:
        if self.on == "list":
            raise self.error
        return ["subs"]

    def __getitem__(self, name: str) -> Any:
        error = self.error

        class _Collection:
            def aggregate(self, *_: Any, **__: Any) -> Any:
                raise error

        return _Collection()


def test_unreachable_server_is_one_line_source_error() -> None:
    error = ServerSelectionTimeoutError(
        "127.0.0.1:27017: [Errno 111] Connection refused (configured timeouts: "
        "socketTimeoutMS: 20000.0ms), Timeout: 5.0s, Topology Description: <...>"
    )
    with pytest.raises(SourceError) as info:
        run(
            MongoAdapter(_Failing(error, "list"), SideSpec(collection="subs"), connection_label="mongo_stage"),
            Measure("rows", "count"),
        )
    assert str(info.value) == (
        "mongo mongo_stage.subs: 127.0.0.1:27017: [Errno 111] Connection refused "
        "(configured timeouts: socketTimeoutMS: 20000.0ms)"
    )


def test_operation_failure_is_one_line_source_error() -> None:
    error = OperationFailure(
        "Failed to parse number 'abc' in $convert\nwith no onError value",
        code=241,
        details={"errmsg": "Failed to parse number 'abc' in $convert", "code": 241},
    )
    src = MongoAdapter(_Failing(error, "aggregate"), SideSpec(collection="subs"))
    with pytest.raises(SourceError) as info:
        run(src, Measure("total", "sum", column="balance"))
    assert str(info.value) == "mongo stage.subs: Failed to parse number 'abc' in $convert"


def test_values_the_rule_cannot_read_are_errors_without_the_value(db: Any) -> None:
    db.subs.insert_one({"msisdn": "62811-secret"})
    with pytest.raises(SourceError) as info:
        run(source(db), Measure("d", "count_distinct", column="msisdn"), rules={"msisdn": ColumnRule(type="integer")})
    assert str(info.value).startswith("mongo mongo_stage.subs: column msisdn:")
    assert "62811" not in str(info.value)


# -- how the work is pushed down --------------------------------------------------------------


class _Spy:
    """Records every aggregate call made on a real (mongomock) database."""

    def __init__(self, database: Any):
        self.database = database
        self.calls: list[tuple[list[dict], dict]] = []
        self.name = database.name

    def list_collection_names(self, **kwargs: Any) -> list[str]:
        return self.database.list_collection_names(**kwargs)

    def __getitem__(self, name: str) -> Any:
        collection, calls = self.database[name], self.calls

        class _Collection:
            def aggregate(self, pipeline: list[dict], **kwargs: Any) -> Any:
                calls.append((pipeline, kwargs))
                return collection.aggregate(pipeline, **kwargs)

        return _Collection()


def test_one_pipeline_match_then_side_stages_then_group(db: Any) -> None:
    db.subs.insert_many([{"cohort": "C1", "plan": "A", "v": 1}, {"cohort": "C1", "plan": "B", "v": 2}])
    spy = _Spy(db)
    src = MongoAdapter(
        spy,
        SideSpec(collection="subs", filter={"cohort": ":cohort_id"}, pipeline=({"$addFields": {"w": "$v"}},)),
        connection_label="m",
    )
    run(
        src,
        Measure("rows", "count"),
        Measure("total", "sum", column="w"),
        Measure("hi", "max", column="v"),
        group_by=("plan",),
        params={"cohort_id": "C1"},
    )
    assert len(spy.calls) == 1
    pipeline, _ = spy.calls[0]
    assert [next(iter(stage)) for stage in pipeline] == ["$match", "$addFields", "$group"]
    assert pipeline[0] == {"$match": {"cohort": "C1"}}


def test_hash_streams_projected_fields_in_batches(db: Any) -> None:
    db.subs.insert_many([{"k": str(i), "other": "x" * 100} for i in range(30)])
    spy = _Spy(db)
    rows = run(
        MongoAdapter(spy, SideSpec(collection="subs"), connection_label="m"), Measure("h", "hash", columns=("k",))
    )
    assert rows[()]["h"] == fingerprint(*[str(i) for i in range(30)])
    ((pipeline, kwargs),) = spy.calls
    assert pipeline == [{"$project": {"_id": 0, "f0": "$k"}}]
    assert kwargs["batchSize"] == HASH_BATCH_SIZE


def test_describe_names_the_side_without_secrets(db: Any) -> None:
    src = source(db, filter={"cohort": ":cohort_id"})
    assert src.describe() == {
        "engine": "mongo",
        "connection": "mongo_stage",
        "database": "stage",
        "collection": "subs",
        "filter": {"cohort": ":cohort_id"},
    }
    assert src.engine == "mongo"
