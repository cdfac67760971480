"""The one line a user reads for an error, whichever command or operator raised it."""

from __future__ import annotations

import pytest

from recon_operators.engine.spec import SuiteError
from recon_operators.errors import CommandError, error_line, mask_line, redact_values


def test_this_projects_errors_read_as_written_other_libraries_name_themselves():
    assert error_line(CommandError("target: no such table")) == "target: no such table"
    assert error_line(KeyError("x")) == "KeyError: 'x'"
    assert error_line(ValueError("first line\n  detail a driver added\nmore")) == "ValueError: first line"


def test_a_config_error_shows_its_first_problem_and_how_many_more():
    assert error_line(SuiteError(["s.yaml line 2: field suite: bad"])) == "s.yaml line 2: field suite: bad"
    assert error_line(SuiteError(["a", "b", "c"])) == "a (+2 more problem(s))"


def test_a_suite_loaders_error_is_a_config_error_read_as_its_first_located_problem():
    """Suites load through the one config loader: their error is a ``ConfigError`` like every
    config file's, and its line is the first located problem (the CLI's exit 2 line)."""
    from recon_operators.config import ConfigError
    from recon_operators.engine.spec import parse_suite

    with pytest.raises(SuiteError) as caught:
        parse_suite("suite: s\nsource: {table: t}\ntarget: {table: t, connection: c}\nchecks: []\n", "s.yaml")
    assert isinstance(caught.value, ConfigError)
    assert error_line(caught.value) == (
        "s.yaml line 2: field source.connection: a table, query or collection side needs a connection "
        "(an Airflow id or a URL) (+1 more problem(s))"
    )
    assert str(caught.value.problems[1]) == "s.yaml line 4: field checks: must hold at least 1 item(s), got []"


def test_the_line_hides_known_secrets_url_passwords_and_subscriber_data():
    exc = RuntimeError("postgresql://u:Zq8Lm/Vt7#Rw2@h:1/db refused hunter22 for 6281234567890 a.b@example.com")
    line = error_line(exc, secrets={"hunter22"})
    assert line == "RuntimeError: postgresql://u:***@h:1/db refused *** for 62812*******90 a***@example.com"


def test_short_secrets_are_left_to_the_patterns_so_text_stays_readable():
    assert redact_values("an abc text", {"abc"}) == "an abc text"
    assert redact_values('{"k": "s3cr3t!"}', {"s3cr3t!"}) == '{"k": "***"}'
    assert mask_line("password=abc") == "password=***"


def test_a_recording_operators_run_error_is_one_masked_line_whatever_raised_it():
    """Airflow failures raised on purpose keep their own words (no class name); anything else
    reads as the CLI's line; both are masked before they reach the run log."""
    from airflow.sdk.exceptions import AirflowFailException

    from recon_operators.operators.recording import failure_line

    assert failure_line(AirflowFailException("prefix P1: no report\nfor 6281234567890")) == "prefix P1: no report"
    assert failure_line(KeyError("subscriber 6281234567890")).startswith("KeyError: 'subscriber 62812")
    assert "6281234567890" not in failure_line(KeyError("subscriber 6281234567890"))
