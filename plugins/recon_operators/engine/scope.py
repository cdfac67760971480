"""The scope a check runs for: which slice of the migration a result speaks about.

Every result carries its scope, and the store replaces rows per scope, so a rerun of one batch
never touches another batch's rows. The scope key is canonical (sorted, only set fields) so the
same scope built in two places compares equal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

_SCOPE_VALUE = re.compile(r"^[A-Za-z0-9_.:@+\-]{1,128}$")
_EXTRA_KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class ScopeError(ValueError):
    """A scope field is missing or holds a value that cannot be a scope key."""


@dataclass(frozen=True)
class Scope:
    """Where a reconciliation applies: environment, cohort, prefix, batch, MSISDN range, stage."""

    env: str
    cohort_id: str | None = None
    prefix_id: str | None = None
    prefix: str | None = None
    batch_id: str | None = None
    msisdn_start: str | None = None
    msisdn_end: str | None = None
    stage: str | None = None
    extra: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.env:
            raise ScopeError("scope needs an env (e.g. dev, sit, prod)")
        for name, value in self.named_fields().items():
            if value is not None and not _SCOPE_VALUE.match(value):
                raise ScopeError(f"scope field {name}={value!r} has characters a scope key cannot hold")
        for key, _ in self.extra:
            if not _EXTRA_KEY.match(key):
                raise ScopeError(f"scope extra key {key!r} must be lower_snake_case")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Scope:
        """Build from params/conf/CLI ``KEY=VALUE`` pairs; unknown keys go to ``extra``."""
        known = {f.name for f in fields(cls)} - {"extra"}
        kwargs: dict[str, Any] = {}
        extra: list[tuple[str, str]] = []
        for key, value in values.items():
            if value is None or value == "":
                continue
            if key in known:
                kwargs[key] = str(value)
            else:
                extra.append((key, str(value)))
        if "env" not in kwargs:
            raise ScopeError("scope needs an env (e.g. dev, sit, prod)")
        return cls(**kwargs, extra=tuple(sorted(extra)))

    def named_fields(self) -> dict[str, str | None]:
        """The scope as a flat mapping of set and unset fields, extras included."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        values.update(dict(self.extra))
        return values

    def as_dict(self) -> dict[str, str]:
        """Only the fields that are set: what gets stored as the scope's JSON."""
        return {k: v for k, v in self.named_fields().items() if v is not None}

    @property
    def key(self) -> str:
        """Canonical text form, e.g. ``batch_id=7;cohort_id=C1;env=dev;stage=mr1``."""
        return ";".join(f"{k}={v}" for k, v in sorted(self.as_dict().items()))

    def with_stage(self, stage: str) -> Scope:
        """The same slice of data, seen at another hop of the migration."""
        values = self.named_fields()
        values["stage"] = stage
        return Scope.from_mapping(values)
