"""``AIRFLOW_CONN_*`` values parse the same way outside Airflow as inside it."""

import pytest

from recon_operators.connections import (
    ConnectionConfigError,
    airflow_connection,
    parse_airflow_value,
    store_dsn,
)


def test_uri_with_extras_becomes_a_clean_libpq_dsn():
    info = parse_airflow_value("postgres://u%40x:p%2Fw@db.local:6543/recon?sslmode=require&__extra__=%7B%7D")
    assert info.conn_type == "postgres"
    assert info.login == "u@x" and info.password == "p/w"
    assert info.libpq_dsn() == "postgresql://u%40x:p%2Fw@db.local:6543/recon?sslmode=require"


def test_json_form_is_accepted():
    info = parse_airflow_value('{"conn_type": "postgres", "host": "h", "port": 5432, "login": "u", "schema": "s"}')
    assert info.libpq_dsn() == "postgresql://u@h:5432/s"


def test_masked_form_never_shows_the_password():
    info = parse_airflow_value("postgresql://user:s3cret@h:5432/db")
    assert "s3cret" not in info.masked() and "s3cret" not in repr(info)


def test_missing_connection_names_the_variable(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_NOPE", raising=False)
    with pytest.raises(ConnectionConfigError, match="AIRFLOW_CONN_NOPE"):
        airflow_connection("nope")


def test_store_dsn_resolution_order(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_RECON_STORE", "postgresql://a@h1:1/x")
    monkeypatch.delenv("RECON_STORE_DSN", raising=False)
    assert store_dsn() == "postgresql://a@h1:1/x"
    monkeypatch.setenv("RECON_STORE_DSN", "postgresql://b@h2:2/y")
    assert store_dsn() == "postgresql://b@h2:2/y"
    assert store_dsn("postgresql://c@h3:3/z") == "postgresql://c@h3:3/z"


def test_no_store_configured_is_one_clear_line(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_RECON_STORE", raising=False)
    monkeypatch.delenv("RECON_STORE_DSN", raising=False)
    with pytest.raises(ConnectionConfigError, match="no results store configured"):
        store_dsn()


def test_malformed_json_is_reported():
    with pytest.raises(ConnectionConfigError, match="malformed"):
        parse_airflow_value("{not json")
