"""Every config loader reads YAML through one loader that refuses a key given twice.

PyYAML silently keeps the last of two equal keys: a second ``target:`` in a suite made it
compare a file with itself and pass. Each loader now names the file and the line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from recon_operators.yaml_lines import LineMap, YamlFileError, duplicate_keys, parse_yaml, read_yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "include" / "config"


def _suite(path: Path) -> Any:
    from recon_operators.engine.spec import load_suite

    return load_suite(path)


def _cohort(path: Path) -> Any:
    from recon_operators.config.cohorts import load_cohort

    return load_cohort(path)


def _batch_job(path: Path) -> Any:
    from recon_operators.config.batch_jobs import load_batch_job

    return load_batch_job(path)


def _claims(path: Path) -> Any:
    from recon_operators.claims.config import load_claims_config

    return load_claims_config(path)


def _report(path: Path) -> Any:
    from recon_operators.migration.report_config import load_measures

    return load_measures(path)


def _dag_config(path: Path) -> Any:
    from recon_operators.config import load_config
    from recon_operators.config.dags import StoreMaintenanceFile

    return load_config(StoreMaintenanceFile, path)


LOADERS: dict[str, tuple[Callable[[Path], Any], str]] = {
    "suite": (_suite, "suites/example_files.yaml"),
    "cohort": (_cohort, "cohorts/cohort_a.yaml"),
    "batch job": (_batch_job, "batch_jobs/accounts_csv.yaml"),
    "claims": (_claims, "claims/daily_claims.yaml"),
    "report": (_report, "reports/mini_recon_2.yaml"),
    "dag config": (_dag_config, "store.yaml"),
}


@pytest.mark.parametrize("kind", LOADERS)
def test_every_loader_refuses_a_key_given_twice_naming_file_and_line(tmp_path: Path, kind: str) -> None:
    load, bundled = LOADERS[kind]
    text = (CONFIG / bundled).read_text()
    first = next(line for line in text.splitlines() if line and not line.startswith("#"))
    copy = tmp_path / Path(bundled).name
    load(CONFIG / bundled)  # the bundled file itself loads
    copy.write_text(text.rstrip("\n") + "\n" + first + "\n")
    with pytest.raises(ValueError) as info:
        load(copy)
    message = str(info.value)
    duplicated_line = len(copy.read_text().splitlines())
    assert f"{copy} line {duplicated_line}" in message, message
    assert "given twice" in message and f"first on line {text.splitlines().index(first) + 1}" in message


def test_duplicates_are_found_at_any_depth_with_their_path() -> None:
    document = parse_yaml("a:\n  b: 1\n  b: 2\nc:\n  - {d: 1, d: 2}\n", "x.yaml")
    found = [(d.path, d.line, d.first_line) for d in duplicate_keys(document)]
    assert found == [("a.b", 3, 2), ("c[0].d", 5, 5)]


def test_a_suite_reports_every_duplicate_with_its_other_problems(tmp_path: Path) -> None:
    from recon_operators.engine.spec import SuiteError, load_suite

    path = tmp_path / "twice.yaml"
    path.write_text(
        "suite: s\nsource: {path: a.csv}\ntarget: {path: b.csv}\ntarget: {path: a.csv}\n"
        "checks:\n  - {name: c, kind: row_count, kind: sum}\n  - {name: d, kind: nope}\n"
    )
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    assert [str(p) for p in info.value.problems] == [
        f"{path} line 4: field target: given twice (first on line 3); YAML would silently keep only the last",
        f"{path} line 6: field checks[0].kind: given twice (first on line 6); YAML would silently keep only the last",
        f"{path} line 6: field checks[c].column: kind sum needs a column",
        f"{path} line 7: field checks[d].kind: must be one of row_count, sum, distinct_count, min, max, hash, rule, "
        "got 'nope'",
    ]


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda p: p, "suite file not found"),
        (lambda p: (p.mkdir(), p)[1], "is a folder, not a suite file"),
        (lambda p: (p.write_bytes(b"suite: \xff\n"), p)[1], "suite file is not UTF-8 text"),
        (lambda p: (p.write_text("suite: [x\n"), p)[1], "line 2: malformed YAML"),
    ],
)
def test_unreadable_files_are_one_line_each(tmp_path: Path, make: Callable[[Path], Path], fragment: str) -> None:
    path = make(tmp_path / "suite.yaml")
    with pytest.raises(YamlFileError) as info:
        read_yaml(path, "suite file")
    assert str(info.value).startswith(str(path)) and fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_mappings_know_their_lines() -> None:
    document = parse_yaml("a: 1\nb:\n  c: 2\n", "x.yaml")
    assert isinstance(document, LineMap) and document.key_lines == {"a": 1, "b": 2}
    assert document["b"].line == 2 and document["b"].key_lines == {"c": 3}
