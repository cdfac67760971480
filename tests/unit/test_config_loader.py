"""The one config loader: every problem of a file at once, each with file, line and field, a
"did you mean" for a misspelt key or value, unknown and duplicate keys refused; and the field
reference in docs generated from the same models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest
from pydantic import BeforeValidator, Field

from recon_operators.config import ConfigError, ConfigModel, load_config
from recon_operators.config.dags import ExampleGateFile
from recon_operators.config.fields import Identifier, as_tuple
from recon_operators.config.reference import REFERENCE_PATH, _section, render_reference

ROOT = Path(__file__).resolve().parents[2]
GOOD = """\
dag_id: example
owner: ops
scope: {env: demo}
stage: mini_recon_1
variants: {clean: example_files.yaml}
policy: stop
approved_dir: /tmp/approved
"""


def _load(tmp_path: Path, text: str) -> ExampleGateFile:
    path = tmp_path / "gate.yaml"
    path.write_text(text)
    return load_config(ExampleGateFile, path)


def _problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)
    return [str(p).removeprefix(str(tmp_path / "gate.yaml")) for p in caught.value.problems]


def test_a_good_file_loads(tmp_path: Path) -> None:
    config = _load(tmp_path, GOOD)
    assert (config.dag_id, config.policy, config.store_conn_id) == ("example", "stop", "recon_store")


def test_every_problem_is_reported_at_once_in_line_order(tmp_path: Path) -> None:
    text = GOOD.replace("owner: ops", "owner: ''").replace("policy: stop", "policy: 7") + "tags: [ok, 3]\n"
    assert _problems(tmp_path, text) == [
        " line 2: field owner: must not be empty",
        " line 6: field policy: must be one of stop, approve, fail, warn, got 7",
        " line 8: field tags[1]: must be a string, got 3",
    ]


def test_a_misspelt_key_or_value_gets_a_did_you_mean(tmp_path: Path) -> None:
    text = GOOD.replace("policy: stop", "policy: stpo").replace("stage:", "stgae:")
    assert _problems(tmp_path, text) == [  # 'stage' is missing only because it is misspelt: said once
        " line 4: field stgae: unknown key (did you mean 'stage'?)",
        " line 6: field policy: must be one of stop, approve, fail, warn, got 'stpo' (did you mean 'stop'?)",
    ]


def test_an_unknown_key_without_a_close_name_lists_the_allowed_ones(tmp_path: Path) -> None:
    (problem,) = _problems(tmp_path, GOOD + "alerts: {pager: x}\n")
    assert problem == " line 8: field alerts.pager: unknown key (allowed here: slack_conn_id, sns_topic_arn)"


def test_a_key_given_twice_is_reported_with_the_other_problems(tmp_path: Path) -> None:
    assert _problems(tmp_path, GOOD + "owner: again\npolicy: nope\n") == [
        " line 8: field owner: given twice (first on line 2); YAML would silently keep only the last",
        " line 9: field policy: given twice (first on line 6); YAML would silently keep only the last",
        " line 9: field policy: must be one of stop, approve, fail, warn, got 'nope'",
    ]


def test_problems_found_across_fields_are_located_too(tmp_path: Path) -> None:
    from recon_operators.migration.report_config import ReportConfigError, load_matrix

    path = tmp_path / "matrix.yaml"
    path.write_text(
        "tables:\n  - {service: X, table: t, deployed: false, target: target.t}\n"
        "  - {service: Y, table: u, transform: 'a.b.c', stage: s}\n"
    )
    with pytest.raises(ReportConfigError) as caught:
        load_matrix(path)
    assert [str(p).removeprefix(str(path)) for p in caught.value.problems] == [
        " line 2: field tables[0]: a table marked deployed: false names no locations",
        " line 3: field tables[1].transform.table: 'a.b.c' is not a table or schema.table",
        " line 3: field tables[1].target: is required unless deployed: false",
    ]


def test_the_committed_field_reference_is_generated_from_the_models() -> None:
    committed = (ROOT / REFERENCE_PATH).read_text(encoding="utf-8")
    assert committed == render_reference(), "docs/config-reference.md is stale: run `recon config-docs`"


class _Pair(ConfigModel):
    """A file whose fields are checked alone and together (``low`` must not exceed ``high``)."""

    low: int
    high: int
    name: str

    @classmethod
    def cross_checks(cls, document, valid):
        if "low" in valid and "high" in valid and valid["low"] > valid["high"]:
            yield ("high",), f"must be >= low ({valid['low']})"


def test_the_reference_keeps_a_types_rule_when_the_field_has_its_own_description() -> None:
    """pydantic folds the type's ``Field(description=rule)`` into the field, where the field's own
    description replaces it; the reference reads the annotation as written, so both are shown."""

    class Model(ConfigModel):
        table: Identifier = Field(description="the side's table")
        column: Identifier

    rows = {line.split("|")[1].strip(): line.split("|")[4].strip() for line in _section(Model, None) if "| `" in line}
    assert rows == {"`table`": "the side's table; a plain SQL identifier", "`column`": "a plain SQL identifier"}


def test_a_bad_field_and_a_bad_combination_are_reported_in_one_round(tmp_path: Path) -> None:
    path = tmp_path / "pair.yaml"
    path.write_text("low: 5\nhigh: 2\nname: 7\n")
    with pytest.raises(ConfigError) as caught:
        load_config(_Pair, path)
    assert [str(p).removeprefix(str(path)) for p in caught.value.problems] == [
        " line 2: field high: must be >= low (5)",
        " line 3: field name: must be a string, got 7",
    ]
    path.write_text("low: x\nhigh: 2\nname: n\n")  # a check lacking a valid input is skipped, not guessed
    with pytest.raises(ConfigError) as caught:
        load_config(_Pair, path)
    assert [p.field for p in caught.value.problems] == ["low"]


class _Item(ConfigModel):
    name: str


class _Items(ConfigModel):
    items: Annotated[tuple[_Item, ...], BeforeValidator(as_tuple)] = Field(min_length=1)


def test_a_bad_item_of_a_list_that_must_not_be_empty_is_one_problem(tmp_path: Path) -> None:
    """Pydantic counts a tuple's length after validation: the one bad item is the problem, not
    a list 'shorter than 1' as well; an empty list still is one."""
    path = tmp_path / "items.yaml"
    path.write_text("items:\n  - name: 7\n")
    with pytest.raises(ConfigError) as caught:
        load_config(_Items, path)
    assert [str(p).removeprefix(str(path)) for p in caught.value.problems] == [
        " line 2: field items[0].name: must be a string, got 7"
    ]
    path.write_text("items: []\n")
    with pytest.raises(ConfigError) as caught:
        load_config(_Items, path)
    assert [str(p).removeprefix(str(path)) for p in caught.value.problems] == [
        " line 1: field items: must hold at least 1 item(s), got []"
    ]
