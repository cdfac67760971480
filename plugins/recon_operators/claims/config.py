"""Claims DAG config (include/config/claims/*.yaml), validated strictly before any DAG is built.

Loading reads the YAML and nothing else, so the DAG processor parses fast and unit tests need no
service. The first problem raises ``ConfigError`` naming the file and the field
(``daily_claims.yaml: field compare.key_columns: must be a non-empty list of column names``);
an unknown key is an error too, since a misspelt option silently ignored is a wrong reconciliation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable, Mapping

from croniter import croniter

from recon_operators.engine.identifiers import IdentifierError, validate_identifier
from recon_operators.factories.config import ConfigError, load_yaml

DEFAULT_MARKER = "NEWSYSTEM"
DEFAULT_SAMPLE_LIMIT = 1000
DEFAULT_WAIT_HOURS = 12.0
DEFAULT_POKE_SECONDS = 300.0
PLACEHOLDERS = ("ds", "ds_nodash")

_DAG_ID = re.compile(r"^[A-Za-z0-9_.-]{1,250}$")
_CONN_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,249}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PREFIX = re.compile(r"^[A-Za-z0-9_.=/{}!-]*/$")
_DATASET = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_PRESETS = ("@once", "@hourly", "@daily", "@weekly", "@monthly", "@yearly")

_SECTIONS: dict[str | None, tuple[str, ...]] = {
    None: ("dag_id", "dataset", "description", "owner", "tags", "schedule", "start_date", "catchup",
           "connections", "s3", "files", "compare", "stage", "landing"),
    "connections": ("store", "stage", "aws"),
    "s3": ("bucket", "inbound_prefix", "processed_prefix", "output_bucket", "output_prefix"),
    "files": ("new_marker",),
    "compare": ("key_columns", "columns", "exclude", "rules", "tolerances", "sample_limit"),
    "stage": ("schema", "keep_tables"),
    "landing": ("wait_hours", "poke_seconds"),
}


@dataclass(frozen=True)
class ClaimsConfig:
    """One daily claims reconciliation: where the files are, how they are compared, where results go."""

    source_file: str
    dag_id: str
    dataset: str
    owner: str
    schedule: str | None
    start_date: date
    catchup: bool
    store_conn_id: str
    stage_conn_id: str
    aws_conn_id: str
    bucket: str
    inbound_prefix: str
    processed_prefix: str
    output_bucket: str
    output_prefix: str
    key_columns: tuple[str, ...]
    columns: tuple[str, ...] | None  # None: every column both files share
    exclude: tuple[str, ...] = ()
    rules: Mapping[str, str] = field(default_factory=dict)
    tolerances: Mapping[str, str] = field(default_factory=dict)
    sample_limit: int = DEFAULT_SAMPLE_LIMIT
    new_marker: str = DEFAULT_MARKER
    stage_schema: str = "stage"
    keep_stage_tables: bool = False
    wait_hours: float = DEFAULT_WAIT_HOURS
    poke_seconds: float = DEFAULT_POKE_SECONDS
    description: str = ""
    tags: tuple[str, ...] = ()

    def prefixes_for(self, business_date: date) -> "DayPrefixes":
        """The day's S3 prefixes with ``{ds}``/``{ds_nodash}`` filled from the business date."""
        values = {"ds": business_date.isoformat(), "ds_nodash": business_date.strftime("%Y%m%d")}
        return DayPrefixes(self.inbound_prefix.format(**values), self.processed_prefix.format(**values),
                           self.output_prefix.format(**values))


@dataclass(frozen=True)
class DayPrefixes:
    inbound: str
    processed: str
    output: str


class _Reader:
    """Typed field access that names the file and the dotted field in every error."""

    def __init__(self, path: Path, data: Mapping[str, Any]) -> None:
        self.path, self.data = path, data

    def fail(self, where: str, message: str) -> ConfigError:
        return ConfigError(f"{self.path.name}: field {where}: {message}")

    def section(self, name: str, required: bool = True) -> Mapping[str, Any]:
        value = self.data.get(name)
        if value is None and not required:
            value = {}
        if not isinstance(value, Mapping):
            raise self.fail(name, "must be a mapping")
        self.no_unknown(value, name)
        return value

    def no_unknown(self, mapping: Mapping[str, Any], section: str | None) -> None:
        for key in mapping:
            if key not in _SECTIONS[section]:
                where = f"{section}.{key}" if section else str(key)
                raise self.fail(where, f"unknown key (allowed: {', '.join(_SECTIONS[section])})")

    def get(self, mapping: Mapping[str, Any], section: str | None, key: str, check: Callable[[Any], bool],
            rule: str, default: Any = ..., ) -> Any:
        where = f"{section}.{key}" if section else key
        if key not in mapping or mapping[key] is None:
            if default is ...:
                raise self.fail(where, f"is required ({rule})")
            return default
        value = mapping[key]
        if not check(value):
            raise self.fail(where, f"must be {rule}, got {value!r}")
        return value

    def identifiers(self, mapping: Mapping[str, Any], section: str, key: str, *, required: bool) -> tuple[str, ...]:
        where = f"{section}.{key}"
        value = mapping.get(key)
        if value is None and not required:
            return ()
        if not isinstance(value, list) or (required and not value):
            raise self.fail(where, "must be a non-empty list of column names" if required else "must be a list")
        try:
            names = tuple(validate_identifier(v) for v in value)
        except IdentifierError as exc:
            raise self.fail(where, str(exc)) from None
        if len(set(names)) != len(names):
            raise self.fail(where, "names a column twice")
        return names

    def column_map(self, mapping: Mapping[str, Any], section: str, key: str) -> dict[str, str]:
        value = mapping.get(key) or {}
        if not isinstance(value, Mapping) or not all(isinstance(v, (str, int, float)) for v in value.values()):
            raise self.fail(f"{section}.{key}", "must map column names to text such as 'decimal,scale:2' or '0.01'")
        try:
            return {validate_identifier(k): str(v) for k, v in value.items()}
        except IdentifierError as exc:
            raise self.fail(f"{section}.{key}", str(exc)) from None


def _is_text(pattern: re.Pattern[str]) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, str) and bool(pattern.match(v))


def _is_schedule(value: Any) -> bool:
    return isinstance(value, str) and (value in _PRESETS or croniter.is_valid(value))


def _is_prefix(value: Any) -> bool:
    if not _is_text(_PREFIX)(value):
        return False
    names = re.findall(r"{([^{}]*)}", value)
    return all(n in PLACEHOLDERS for n in names) and value.count("{") == len(names)


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def load_claims_config(path: Path) -> ClaimsConfig:
    """Read and validate one claims config file (``ConfigError`` names file and field)."""
    data = load_yaml(path.name, path.parent)
    r = _Reader(path, data)
    r.no_unknown(data, None)
    conns, s3, files = r.section("connections"), r.section("s3"), r.section("files", required=False)
    compare, stage, landing = r.section("compare"), r.section("stage", required=False), r.section("landing", required=False)
    conn = (_is_text(_CONN_ID), "an Airflow connection id")
    prefix = (_is_prefix, "an S3 prefix ending in '/' (letters, digits, _ . = - ! /, placeholders {ds} {ds_nodash})")
    text = (lambda v: isinstance(v, str) and bool(v.strip()), "non-empty text")

    columns = compare.get("columns", "all")
    if columns == "all":
        compared: tuple[str, ...] | None = None
    else:
        compared = r.identifiers(compare, "compare", "columns", required=True)
    key_columns = r.identifiers(compare, "compare", "key_columns", required=True)
    start = r.get(data, None, "start_date", lambda v: isinstance(v, (str, date)), "a date YYYY-MM-DD")
    try:
        start_date = start if isinstance(start, date) else date.fromisoformat(start)
    except ValueError:
        raise r.fail("start_date", f"must be a date YYYY-MM-DD, got {start!r}") from None
    tags = r.get(data, None, "tags", lambda v: isinstance(v, list) and all(isinstance(t, str) and t for t in v),
                 "a list of tags", [])
    bucket = r.get(s3, "s3", "bucket", _is_text(_BUCKET), "an S3 bucket name")
    sample_limit = r.get(compare, "compare", "sample_limit",
                         lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 1_000_000,
                         "an integer from 0 to 1000000", DEFAULT_SAMPLE_LIMIT)
    config = ClaimsConfig(
        source_file=str(path),
        dag_id=r.get(data, None, "dag_id", _is_text(_DAG_ID), "letters, digits, _ . - (max 250)"),
        dataset=r.get(data, None, "dataset", _is_text(_DATASET), "lower_snake_case, at most 40 characters"),
        description=r.get(data, None, "description", *text, ""),
        owner=r.get(data, None, "owner", *text),
        tags=tuple(tags),
        schedule=r.get(data, None, "schedule", _is_schedule, f"a 5-field cron or one of {', '.join(_PRESETS)}", None),
        start_date=start_date,
        # Off by default: unpausing must not start a run for every missed day at once (each logs
        # NO_FILES when its window has closed); missed days are backfilled on purpose (docs/claims.md).
        catchup=r.get(data, None, "catchup", lambda v: isinstance(v, bool), "true or false", False),
        store_conn_id=r.get(conns, "connections", "store", *conn),
        stage_conn_id=r.get(conns, "connections", "stage", *conn),
        aws_conn_id=r.get(conns, "connections", "aws", *conn, "aws_default"),
        bucket=bucket,
        inbound_prefix=r.get(s3, "s3", "inbound_prefix", *prefix),
        processed_prefix=r.get(s3, "s3", "processed_prefix", *prefix),
        output_bucket=r.get(s3, "s3", "output_bucket", _is_text(_BUCKET), "an S3 bucket name", bucket),
        output_prefix=r.get(s3, "s3", "output_prefix", *prefix),
        key_columns=key_columns,
        columns=compared,
        exclude=r.identifiers(compare, "compare", "exclude", required=False),
        rules=r.column_map(compare, "compare", "rules"),
        tolerances=r.column_map(compare, "compare", "tolerances"),
        sample_limit=sample_limit,
        new_marker=r.get(files, "files", "new_marker", _is_text(re.compile(r"^[A-Za-z0-9_.-]{1,64}$")),
                         "letters, digits, _ . - (max 64)", DEFAULT_MARKER),
        stage_schema=r.get(stage, "stage", "schema", lambda v: isinstance(v, str) and _valid_identifier(v),
                           "a plain identifier", "stage"),
        keep_stage_tables=r.get(stage, "stage", "keep_tables", lambda v: isinstance(v, bool), "true or false", False),
        wait_hours=float(r.get(landing, "landing", "wait_hours", _positive, "a number of hours > 0",
                               DEFAULT_WAIT_HOURS)),
        poke_seconds=float(r.get(landing, "landing", "poke_seconds", _positive, "a number of seconds > 0",
                                 DEFAULT_POKE_SECONDS)),
    )
    _check_compare(r, config)
    return config


def _check_compare(r: _Reader, config: ClaimsConfig) -> None:
    """Rules and tolerances are parsed now, by the engine, so a typo fails the DAG import."""
    from recon_operators.claims.diff import build_spec
    from recon_operators.engine.rowdiff import DiffError

    try:
        build_spec(config.key_columns, config.columns, config.exclude, dict(config.rules),
                   dict(config.tolerances), config.sample_limit)
    except DiffError as exc:
        raise r.fail("compare", str(exc)) from None


def _valid_identifier(name: str) -> bool:
    try:
        validate_identifier(name)
    except IdentifierError:
        return False
    return True


def load_claims_configs(folder: Path) -> list[ClaimsConfig]:
    """Every ``*.yaml``/``*.yml`` in the folder, in name order; dag ids must be unique."""
    configs = [load_claims_config(p) for p in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])]
    seen: dict[str, str] = {}
    for config in configs:
        if config.dag_id in seen:
            raise ConfigError(f"{Path(config.source_file).name}: field dag_id: {config.dag_id!r} is already used "
                              f"by {Path(seen[config.dag_id]).name}")
        seen[config.dag_id] = config.source_file
    return configs
