"""Row diff pieces without a database: rule/tolerance text, dataset URLs, the column plan."""

from __future__ import annotations

from decimal import Decimal

import pytest

from recon_operators.engine.adapters.base import SourceError
from recon_operators.engine.canonical import Form
from recon_operators.engine.dialects import DIALECTS
from recon_operators.engine.logical_types import LogicalType, infer_from_text, postgres_type, text
from recon_operators.engine.normalise import ColumnRule
from recon_operators.engine.opener import check_dataset, dataset_side
from recon_operators.engine.rowdiff.model import DiffError, DiffSpec
from recon_operators.engine.rowdiff.options import column_pairs, parse_rule, parse_tolerance, rules_from, split_names
from recon_operators.engine.rowdiff.plan import plan_columns
from recon_operators.engine.spec import Tolerance


def test_rule_text():
    assert parse_rule("decimal,scale:2") == ColumnRule(type="decimal", scale=2)
    assert parse_rule("trim, lower ,empty_as_null") == ColumnRule(trim=True, case="lower", empty_as_null=True)
    assert parse_rule("timestamp,tz:+07:00") == ColumnRule(type="timestamp", timezone="+07:00")
    with pytest.raises(DiffError, match="rule item 'sideways'"):
        parse_rule("sideways")
    with pytest.raises(DiffError, match="unknown time zone"):
        parse_rule("timestamp,tz:Mars/Base")
    assert rules_from({"a": "trim", "b": {"type": "date"}, "c": ColumnRule(case="upper")}) == {
        "a": ColumnRule(trim=True),
        "b": ColumnRule(type="date"),
        "c": ColumnRule(case="upper"),
    }


def test_tolerance_text():
    assert parse_tolerance("0.01") == Tolerance(abs=Decimal("0.01"))
    assert parse_tolerance("0.5%") == Tolerance(rel=Decimal("0.005"))
    assert parse_tolerance("1, 2%") == Tolerance(abs=Decimal(1), rel=Decimal("0.02"))
    for bad in ("abc", "-1", "inf", "Infinity,1%", "nan", "1,nan%", "-inf"):
        with pytest.raises(DiffError):
            parse_tolerance(bad)
    assert column_pairs(["a=1", " b = 2% "], "--tolerance") == {"a": "1", "b": "2%"}
    with pytest.raises(DiffError, match="COLUMN=VALUE"):
        column_pairs(["a"], "--tolerance")
    assert split_names(["a,b", " c ", ""]) == ("a", "b", "c")


@pytest.mark.parametrize(
    "url, side",
    [
        ("postgresql://u@db:5433/app?table=crm.subs", {"table": "crm.subs"}),
        (
            "postgresql://u@db/app?query=SELECT%20*%20FROM%20t&filter=x%20%3D%201",
            {"query": "SELECT * FROM t", "filter": "x = 1"},
        ),
        ("mysql://root@127.0.0.1:3306/stage?table=subs", {"table": "subs"}),
        (
            "mariadb://root@127.0.0.1/stage?table=subs&filter=batch%3D:batch",
            {"table": "subs", "filter": "batch=:batch"},
        ),
        ("mongodb://h:27017/crm?collection=subs", {"collection": "subs"}),
    ],
)
def test_database_urls(url, side):
    spec, label = dataset_side(url)
    assert {k: v for k, v in vars(spec).items() if k in side} == side
    assert "table=" not in (spec.connection or "") and "query=" not in (spec.connection or "")
    check_dataset(spec, label)


def test_file_and_conn_urls(monkeypatch):
    local, _ = dataset_side("/data/subs.parquet")
    assert (local.path, local.format) == ("/data/subs.parquet", "parquet")
    s3, _ = dataset_side("s3://bucket/in/x.csv?conn=aws_s3")
    assert (s3.path, s3.connection, s3.format) == ("s3://bucket/in/x.csv", "aws_s3", "csv")
    keyed, label = dataset_side("s3://AKIAKEY:s3cr3tkey@bucket/in/x.csv")
    assert keyed.path == "s3://bucket/in/x.csv" and "s3cr3tkey" not in label
    monkeypatch.setenv("AIRFLOW_CONN_STAGE_SECRET", "mysql://root:s3cr3t@127.0.0.1:3306/stage")
    ref, label = dataset_side("conn://stage_secret?table=subs")
    assert ref.connection == "stage_secret" and "s3cr3t" not in label
    check_dataset(ref, label)


@pytest.mark.parametrize(
    "url, message",
    [
        ("", "empty"),
        ("notes.txt", "neither a dataset URL"),
        ("postgresql://u@h/db", "exactly one"),
        ("postgresql://u@h/db?table=a&query=select%201", "exactly one"),
        ("mongodb://h/db", "collection"),
        ("conn://missing_conn?table=t", "AIRFLOW_CONN_MISSING_CONN"),
        ("ftp://h/x?table=t", "unsupported"),
    ],
)
def test_bad_urls(url, message):
    with pytest.raises(SourceError, match=message):
        check_dataset(*dataset_side(url))


def test_plan_settles_cosmetic_types_from_either_side():
    spec = DiffSpec(
        key=("msisdn",),
        tolerances={"fee": Tolerance(abs=Decimal(1))},
        target_rules={"seen": ColumnRule(timezone="+07:00")},
        rules={"*": ColumnRule(trim=True)},
    )
    csv = infer_from_text([])
    source = {
        "msisdn": text("varchar(20)"),
        "amount": postgres_type("numeric(14,2)"),
        "seen": postgres_type("timestamp without time zone"),
        "born": csv,
        "fee": csv,
        "only_source": csv,
    }
    target = {"msisdn": csv, "amount": csv, "seen": csv, "born": LogicalType("date"), "fee": csv}
    plans = {p.name: p for p in plan_columns(spec, source, target)}
    assert list(plans) == ["msisdn", "amount", "seen", "born", "fee"]
    assert plans["amount"].form == Form("decimal", sum_scale=2)  # the CSV scale is unknown: trailing zeros dropped
    assert plans["seen"].form.kind == "timestamp" and plans["born"].form.kind == "date"
    assert plans["seen"].target.rule == ColumnRule(trim=True, timezone="+07:00")
    assert plans["msisdn"].source.rule == ColumnRule()  # "*" is for compared columns, not the key
    assert plans["msisdn"].form.kind == "text"
    with pytest.raises(DiffError, match="source has no column nope"):
        plan_columns(DiffSpec(key=("nope",)), source, target)
    with pytest.raises(DiffError, match="not a compared column"):
        plan_columns(DiffSpec(key=("msisdn",), tolerances={"born": Tolerance()}, exclude=("born",)), source, target)


def test_incomparable_pairs_and_keys_only():
    spec = DiffSpec(key=("id",))
    plans = plan_columns(
        spec, {"id": text(), "doc": LogicalType("json")}, {"id": text(), "doc": LogicalType("integer")}
    )
    assert plans[1].incomparable.startswith("doc: json (source) vs integer (target)")
    with pytest.raises(DiffError, match="--keys-only"):
        plan_columns(spec, {"id": text(), "a": text()}, {"id": text(), "b": text()})
    assert [p.name for p in plan_columns(DiffSpec(key=("id",), keys_only=True), {"id": text()}, {"id": text()})] == [
        "id"
    ]


def test_forms_render_where_the_data_lives():
    duck, pg = DIALECTS["duckdb"], DIALECTS["postgres"]
    csv = infer_from_text([])
    assert duck.canonical('"x"', csv, Form("decimal", scale=2, rounds=True), textual=True).startswith("coalesce(")
    assert "recon_decimal" in duck.canonical('"x"', LogicalType("decimal", 38, 4), Form("decimal"))
    assert pg.canonical('"x"', postgres_type("character(8)"), Form("text")) == 'CAST("x" AS text)'
    assert pg.canonical('"x"', postgres_type("numeric(14,2)"), Form("decimal", scale=2)) == 'CAST("x" AS text)'
