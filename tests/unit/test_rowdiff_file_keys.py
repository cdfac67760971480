"""A local CSV side is read once: counts, duplicates and the diff come from one join over views.
Duplicated and NULL keys must come out exactly as the table path counts them (a duplicated key is
reported, never paired; a NULL key never pairs and is never a duplicate), on both sides."""

from __future__ import annotations

import pytest

from recon_operators.engine.adapters.files import FileAdapter
from recon_operators.engine.rowdiff import DiffSpec, run_diff
from recon_operators.engine.spec import SideSpec

HEADER = "msisdn,status,balance\n"


def _csv(path, rows):
    path.write_text(HEADER + "".join(f"{k},{s},{b}\n" for k, s, b in rows))
    return FileAdapter(SideSpec(path=str(path)))


def _base():
    return [(f"62812{i:05d}", "ACTIVE", f"{i}.00") for i in range(10)]


def _diff(tmp_path, source_rows, target_rows):
    source, target = _csv(tmp_path / "s.csv", source_rows), _csv(tmp_path / "t.csv", target_rows)
    return run_diff(DiffSpec(key=("msisdn",)), source, target)


@pytest.mark.parametrize("side", ["source", "target"])
def test_a_duplicated_key_is_reported_not_paired(tmp_path, side):
    rows = _base()
    twice = [*rows, (rows[3][0], "BARRED", rows[3][2])]
    result = _diff(tmp_path, twice, rows) if side == "source" else _diff(tmp_path, rows, twice)
    assert (result.duplicate_keys_source, result.duplicate_keys_target) == ((1, 0) if side == "source" else (0, 1))
    assert (result.missing_in_target, result.extra_in_target, result.changed_rows) == (0, 0, 0)
    assert result.matched_rows == 9 and not result.equal
    assert (result.source_rows, result.target_rows) == ((11, 10) if side == "source" else (10, 11))


def test_null_keys_never_pair_and_are_never_duplicates(tmp_path):
    rows = _base()
    source = [("", "ACTIVE", "1.00"), ("", "IDLE", "2.00"), *rows[2:]]
    target = [("", "ACTIVE", "1.00"), *rows[1:]]
    result = _diff(tmp_path, source, target)
    assert (result.duplicate_keys_source, result.duplicate_keys_target) == (0, 0)
    assert (result.missing_in_target, result.extra_in_target) == (2, 2)  # 2 NULL-key rows; target: NULL + row 1
    assert (result.source_rows, result.target_rows, result.matched_rows, result.changed_rows) == (10, 10, 8, 0)


def test_changed_missing_and_extra_from_the_one_join(tmp_path):
    rows = _base()
    target = [
        *rows[:8],
        (rows[8][0], "BARRED", rows[8][2]),
        (rows[9][0], "ACTIVE", "9.000"),
        ("6281299999", "NEW", "1"),
    ]
    result = _diff(tmp_path, [*rows, ("6281288888", "OLD", "0")], target)
    assert (result.missing_in_target, result.extra_in_target, result.changed_rows) == (1, 1, 1)
    assert result.column_mismatches == {"status": 1}  # 9.00 = 9.000 by value
    assert (result.source_rows, result.target_rows, result.matched_rows) == (11, 11, 10)
