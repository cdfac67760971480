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


PASSWORDS = ["p/ss", "p#ss", "p?ss", "p@ss", "p%ss", "s/e#c?r@e%t", "123/abc", "a@b?c", ":colon:", "p%2Fss"]


@pytest.mark.parametrize("password", PASSWORDS)
@pytest.mark.parametrize(
    "tail", ["/db?table=t&filter=email%20LIKE%20'%25@example.com'", "/db", "", "?table=t", "/db?filter=email=a@b.com"]
)
def test_passwords_with_reserved_characters_parse_raw_or_encoded(password, tail):
    from urllib.parse import unquote

    info = parse_airflow_value(f"postgresql://user:{password}@db.example:5432{tail}")
    assert (info.login, info.password, info.host, info.port) == ("user", unquote(password), "db.example", 5432)
    assert info.masked().startswith("postgres://user:***@db.example:5432/")
    assert unquote(password) not in info.masked()


def test_an_at_sign_in_a_filter_is_not_taken_for_credentials():
    info = parse_airflow_value("postgresql://db:5432/x?table=t&filter=email=a@b.com")
    assert (info.login, info.password, info.host, info.schema) == (None, None, "db", "x")
    assert info.extra == {"table": "t", "filter": "email=a@b.com"}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://user:Zq8Lm Vt7@db:5x/db", "the port is not a number"),
        ("postgresql://user:Zq8Lm@db:99999/db", "the port is not a number"),
        ("postgresql://user:Zq8Lm@d!b/db", "the host is not a host name"),
        ("postgresql://user:Zq8Lm@db/db?__extra__=%7Bbad", "__extra__ in the connection URL is not valid JSON"),
        ("postgresql://user:Zq8Lm@db/db?__extra__=%5B1%5D", "__extra__ in the connection URL must be a JSON object"),
        ("user:Zq8Lm@db/db", "a connection URL looks like"),
        ('{"conn_type": "postgres", "port": "5x", "password": "Zq8Lm"}', "port must be a number"),
        ('{"conn_type": "postgres", "extra": "{bad", "password": "Zq8Lm"}', "extra is not valid JSON"),
    ],
)
def test_unparseable_connections_are_one_line_that_never_quotes_them(url, message):
    with pytest.raises(ConnectionConfigError) as info:
        parse_airflow_value(url)
    assert message in str(info.value) and "Zq8Lm" not in str(info.value) and "\n" not in str(info.value)


def test_secrets_of_connections_and_urls():
    from recon_operators.connections import environment_secrets, url_secrets

    assert url_secrets("s3://KEY:SECRET/x@bucket/k.csv") == {"SECRET/x"}
    assert url_secrets("postgresql://u:p%2Fw@h/db") == {"p%2Fw", "p/w"}
    assert url_secrets("/data/x.csv") == set() and url_secrets("postgresql://u@h/db") == set()
    env = {
        "AIRFLOW_CONN_A": '{"conn_type": "aws", "login": "K", "password": "pw1", '
        '"extra": {"aws_secret_access_key": "sk2", "region_name": "eu"}}',
        "RECON_STORE_DSN": "postgresql://u:pw3@h/db",
        "HOME": "postgresql://u:not-a-connection@h/db",
    }
    assert environment_secrets(env) == {"pw1", "sk2", "pw3"}


def test_dataset_options_split_off_where_the_strict_parser_finds_the_query():
    """A dataset URL's own options leave the connection URL; a raw '?' or '#' in the password stays in it."""
    from recon_operators.connections import parse_uri, split_query_options

    connection, options = split_query_options(
        "postgresql://u:p?a#b@db:5433/app?table=crm.subs&sslmode=require&filter=x%20%3D%201", ("table", "filter")
    )
    assert options == {"table": "crm.subs", "filter": "x = 1"}
    assert connection == "postgresql://u:p?a#b@db:5433/app?sslmode=require"
    info = parse_uri(connection)
    assert (info.password, info.host, info.schema, info.extra) == ("p?a#b", "db", "app", {"sslmode": "require"})
    assert split_query_options("mysql://root@h/stage", ("table",)) == ("mysql://root@h/stage", {})
