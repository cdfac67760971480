"""The one SQL template helper: identifiers validated and quoted per dialect, nothing unchecked."""

from __future__ import annotations

import pytest

from recon_operators.engine.identifiers import IdentifierError
from recon_operators.sql_templates import fragment, ident, literal, render_sql


@pytest.fixture
def sql_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("RECON_SQL_DIR", str(tmp_path))
    (tmp_path / "t.sql").write_text(
        "-- {table} is {ignored} here; 100% a comment\n"
        "SELECT {column}, '{}' FROM {table} WHERE {extra} AND id = %(id)s\n"
    )
    return tmp_path


def test_slots_take_quoted_identifiers_and_code_built_fragments(sql_dir):
    text = render_sql(
        "t.sql", table=ident("stage", "subscribers"), column=ident("msisdn"), extra=fragment("status IS NOT NULL")
    )
    assert text == """SELECT "msisdn", '{}' FROM "stage"."subscribers" WHERE status IS NOT NULL AND id = %(id)s"""
    mysql = render_sql(
        "t.sql", dialect="mariadb", table=ident("stage.subscribers"), column=ident("msisdn"), extra=fragment("1 = 1")
    )
    assert "FROM `stage`.`subscribers`" in mysql and "SELECT `msisdn`" in mysql


def test_a_fragment_is_not_read_again_for_slots(sql_dir):
    text = render_sql("t.sql", table=ident("t"), column=ident("c"), extra=fragment("x = '{table}'"))
    assert "x = '{table}'" in text


def test_plain_strings_unknown_and_unused_slots_are_refused(sql_dir):
    with pytest.raises(TypeError, match="slot table takes ident"):
        render_sql("t.sql", table='"t"; DROP TABLE x', column=ident("c"), extra=fragment("1 = 1"))
    with pytest.raises(RuntimeError, match=r"no value for slot\(s\) extra"):
        render_sql("t.sql", table=ident("t"), column=ident("c"))
    with pytest.raises(RuntimeError, match=r"lost its slot\(s\) other"):
        render_sql("t.sql", table=ident("t"), column=ident("c"), extra=fragment("1 = 1"), other=ident("o"))


def test_identifiers_are_validated_when_made():
    for bad in ('a"b', "a b", "", "a.b.c.d", "x;drop"):
        with pytest.raises(IdentifierError):
            ident(bad)


def test_a_literal_stays_one_string():
    assert literal("/tmp/it's.csv").text == "'/tmp/it''s.csv'"
