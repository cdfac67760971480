"""What a row diff is asked (``DiffSpec``) and what it answers (``DiffResult``): plain data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from recon_operators.engine.identifiers import validate_identifier
from recon_operators.engine.normalise import ColumnRule
from recon_operators.engine.spec import Tolerance

DEFAULT_SAMPLE = 20


class DiffError(ValueError):
    """The diff cannot run as asked (no key, unknown column, a side that cannot be read)."""


@dataclass(frozen=True)
class DiffSpec:
    """Which rows are the same row (``key``) and which columns must agree.

    ``columns``: compared columns (default: every column both sides share, minus the key and
    ``exclude``). ``rules``: per-column normalisation for both sides, ``source_rules`` and
    ``target_rules`` a side's overrides (e.g. the zone its naive timestamps were written in);
    the column name ``*`` applies to every compared column. ``tolerances``: numeric columns
    whose values may differ by ``abs`` or ``rel``. ``sample_limit``: mismatch samples kept per
    kind (changed, missing, extra, duplicate). ``mask``: PII in samples masked (keep it on for
    anything that leaves the store).
    """

    key: tuple[str, ...]
    columns: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    rules: Mapping[str, ColumnRule] = field(default_factory=dict)
    source_rules: Mapping[str, ColumnRule] = field(default_factory=dict)
    target_rules: Mapping[str, ColumnRule] = field(default_factory=dict)
    tolerances: Mapping[str, Tolerance] = field(default_factory=dict)
    sample_limit: int = DEFAULT_SAMPLE
    mask: bool = True
    keys_only: bool = False  # no column to compare is fine: only missing/extra/duplicate keys count

    def __post_init__(self) -> None:
        if not self.key:
            raise DiffError("a row diff needs a key (one or more columns)")
        names = [
            *self.key,
            *(self.columns or ()),
            *self.exclude,
            *self.tolerances,
            *(c for rules in (self.rules, self.source_rules, self.target_rules) for c in rules if c != "*"),
        ]
        try:
            for name in names:
                validate_identifier(name)
        except ValueError as exc:
            raise DiffError(str(exc)) from None
        if len(set(self.key)) != len(self.key):
            raise DiffError("a key column is named twice")
        if self.sample_limit < 0:
            raise DiffError("the sample limit cannot be negative")

    def rule(self, column: str, side: str) -> ColumnRule:
        """Both sides' rule for a column with this side's override applied."""
        overrides = self.source_rules if side == "source" else self.target_rules
        base = self.rules.get(column) or self.rules.get("*") or ColumnRule()
        if column in self.key and column not in self.rules:
            base = ColumnRule()  # "*" is for compared columns; keys take only rules named for them
        return base.merged(overrides.get(column) or (None if column in self.key else overrides.get("*")))


@dataclass
class DiffResult:
    """Counts and samples of one diff. ``matched_rows`` are keys found once on each side
    (equal or changed); rows whose key is duplicated on either side are reported in
    ``duplicate_keys_*`` and the samples and not compared, so a duplicate is never collapsed."""

    key: list[str]
    columns: list[str]
    source_rows: int = 0
    target_rows: int = 0
    matched_rows: int = 0
    missing_in_target: int = 0
    extra_in_target: int = 0
    changed_rows: int = 0
    duplicate_keys_source: int = 0
    duplicate_keys_target: int = 0
    column_mismatches: dict[str, int] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)
    target: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # source/target staging, compare
    forms: dict[str, dict[str, str]] = field(default_factory=dict)  # column -> canonical form per side
    incomparable: dict[str, str] = field(default_factory=dict)  # column -> why it could not be compared

    @property
    def equal(self) -> bool:
        return not (
            self.missing_in_target
            or self.extra_in_target
            or self.changed_rows
            or self.duplicate_keys_source
            or self.duplicate_keys_target
            or self.incomparable
        )

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["equal"] = self.equal
        out["seconds"] = round(self.seconds, 3)
        return out
