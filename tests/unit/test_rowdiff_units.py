"""Row diff pieces without a database: rule/tolerance text, dataset URLs, the column plan."""

from __future__ import annotations

from decimal import Decimal

import pytest

from recon_operators.engine.dialects import DIALECTS
from recon_operators.engine.normalise import ColumnRule
from recon_operators.engine.rowdiff.model import DiffError, DiffSpec
from recon_operators.engine.rowdiff.options import column_pairs, parse_rule, parse_tolerance, rules_from, split_names
from recon_operators.engine.rowdiff.plan import plan_columns, side_expression
from recon_operators.engine.rowdiff.urls import parse_dataset_url
from recon_operators.engine.sources.base import SourceError
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
        "a": ColumnRule(trim=True), "b": ColumnRule(type="date"), "c": ColumnRule(case="upper")}


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


@pytest.mark.parametrize("url, kind, options", [
    ("postgresql://u@db:5433/app?table=crm.subs", "postgres", {"table": "crm.subs"}),
    ("postgresql://u@db/app?query=SELECT%20*%20FROM%20t&filter=x%20%3D%201", "postgres",
     {"query": "SELECT * FROM t", "filter": "x = 1"}),
    ("mysql://root@127.0.0.1:3306/stage?table=subs", "mysql", {"table": "subs"}),
    ("mariadb://root@127.0.0.1/stage?table=subs&filter=batch%3D:batch", "mysql",
     {"table": "subs", "filter": "batch=:batch"}),
    ("mongodb://h:27017/crm?collection=subs", "mongo", {"collection": "subs"}),
])
def test_database_urls(url, kind, options):
    ref = parse_dataset_url(url)
    assert ref.kind == kind and ref.options == options
    assert ref.info is not None and "table" not in ref.info.extra and "query" not in ref.info.extra


def test_file_and_conn_urls(monkeypatch):
    local = parse_dataset_url("/data/subs.parquet")
    assert (local.kind, local.path, local.options["format"]) == ("file", "/data/subs.parquet", "parquet")
    s3 = parse_dataset_url("s3://bucket/in/x.csv?conn=aws_s3")
    assert (s3.path, s3.options) == ("s3://bucket/in/x.csv", {"conn": "aws_s3", "format": "csv"})
    monkeypatch.setenv("AIRFLOW_CONN_STAGE_SECRET", "mysql://root:s3cr3t@127.0.0.1:3306/stage")
    ref = parse_dataset_url("conn://stage_secret?table=subs")
    assert ref.kind == "mysql" and ref.info.password == "s3cr3t"
    assert "s3cr3t" not in ref.label


@pytest.mark.parametrize("url, message", [
    ("", "empty"), ("notes.txt", "neither a dataset URL"), ("postgresql://u@h/db", "exactly one"),
    ("postgresql://u@h/db?table=a&query=select%201", "exactly one"), ("mongodb://h/db", "collection"),
    ("conn://missing_conn?table=t", "AIRFLOW_CONN_MISSING_CONN"), ("ftp://h/x?table=t", "unsupported"),
])
def test_bad_urls(url, message):
    with pytest.raises(SourceError, match=message):
        parse_dataset_url(url)


def test_plan_settles_cosmetic_types_from_either_side():
    spec = DiffSpec(key=("msisdn",), tolerances={"fee": Tolerance(abs=Decimal(1))},
                    target_rules={"seen": ColumnRule(timezone="+07:00")}, rules={"*": ColumnRule(trim=True)})
    source = {"msisdn": None, "amount": "number", "seen": "timestamp", "born": None, "fee": None, "only_source": None}
    target = {"msisdn": None, "amount": None, "seen": None, "born": "date", "fee": None}
    plans = {p.name: p for p in plan_columns(spec, source, target)}
    assert list(plans) == ["msisdn", "amount", "seen", "born", "fee"]
    assert plans["amount"].numeric and plans["fee"].numeric and not plans["born"].numeric
    assert plans["seen"].target_rule == ColumnRule(type="timestamp", trim=True, timezone="+07:00")
    assert plans["seen"].source_rule == ColumnRule(type="timestamp", trim=True)
    assert plans["born"].source_rule.type == "date"
    assert plans["msisdn"].source_rule == ColumnRule()  # "*" is for compared columns, not the key
    with pytest.raises(DiffError, match="source has no column nope"):
        plan_columns(DiffSpec(key=("nope",)), source, target)
    with pytest.raises(DiffError, match="not a compared column"):
        plan_columns(DiffSpec(key=("msisdn",), tolerances={"born": Tolerance()}, exclude=("born",)), source, target)


def test_numbers_travel_as_text_and_declared_scales_round_at_the_source():
    duck = DIALECTS["duckdb"]
    assert side_expression(duck, '"x"', ColumnRule(), True, True) == "NULLIF(TRIM(CAST(\"x\" AS VARCHAR)), '')"
    assert "DECIMAL(38,2)" in side_expression(duck, '"x"', ColumnRule(scale=2), True, True)
    assert side_expression(DIALECTS["postgres"], '"x"', ColumnRule(), False, False) == 'CAST("x" AS text)'
