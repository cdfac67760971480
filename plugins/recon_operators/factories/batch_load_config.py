"""Batch load jobs: one YAML file per job in include/config/batch_jobs, validated before any DAG.

Like the cohort files, loading reads only the YAML (no database, no S3, not the source file),
and every problem of a file is reported at once, one line each, naming file, line, job and field::

    accounts.yaml line 12: job 'accounts', field fields[amount].scale: a decimal field needs a scale (0..18)

A bad file raises ``BatchJobConfigError``; the DAG file then fails to import with that message
instead of building a half-valid job.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable


from recon_operators.batchload.layout import FIELD_TYPES, FORMATS, FieldSpec, Layout
from recon_operators.batchload.staging import Tables
from recon_operators.factories.cohort_config import (
    _CONN_ID, _DAG_ID, DEFAULT_AWS_CONN_ID, DEFAULT_STORE_CONN_ID, AlertRoutes, _Map, _Reader, _Seq,
)
from recon_operators.config import ConfigError
from recon_operators.paths import config_dir
from recon_operators.yaml_lines import YamlFileError, read_yaml

_JOB = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_ENV = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
RESERVED_COLUMNS = ("run_id", "worker_id", "line_no", "last_run_id", "reason", "record")
DEFAULT_WORKERS = 4
MAX_WORKERS = 64
DEFAULT_AMOUNT_TOLERANCE = Decimal("0.01")
_CONN_RULE = "an Airflow connection id (letters, digits, _ . -)"
_IDENT_RULE = "a lower-case SQL identifier (letters, digits, _; max 63)"


@dataclass(frozen=True)
class BatchConnections:
    target: str  # Postgres holding the staging and final tables
    store: str = DEFAULT_STORE_CONN_ID
    aws: str = DEFAULT_AWS_CONN_ID  # S3 sources


@dataclass(frozen=True)
class BatchJobConfig:
    job: str
    dag_id: str
    env: str
    owner: str
    tags: tuple[str, ...]
    schedule: str | None
    source_path: str  # absolute local path or s3://bucket/key
    layout: Layout
    workers: int
    amount_tolerance: Decimal
    tables: Tables
    connections: BatchConnections
    alerts: AlertRoutes
    retries: int = 1
    description: str = ""
    path: str | None = None


@dataclass(frozen=True)
class JobProblem:
    file: str
    line: int | None
    job: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        at = f" line {self.line}" if self.line else ""
        parts = [f"job {self.job!r}" if self.job else "job <unnamed>"]
        if self.field:
            parts.append(f"field {self.field}")
        return f"{self.file}{at}: {', '.join(parts)}: {self.message}"


class BatchJobConfigError(ConfigError):
    """One or more batch job files are invalid; ``problems`` holds each one, located."""

    kind = "batch job config"


class _JobReader(_Reader):
    """The cohort reader's field helpers, reporting problems as a batch job's."""

    def add(self, line: int | None, field: str | None, message: str) -> None:
        self.problems.append(JobProblem(self.path, line, self.cohort, field, message))  # type: ignore[arg-type]

    def integer(self, m: _Map, key: str, where: str, low: int, high: int, default: int | None = None) -> int | None:
        value = self.get(m, key, where, (int,), default is None)
        if value is None:
            return default
        if not low <= value <= high:
            self.add(self.line(m, key), f"{where}.{key}" if where else key, f"must be {low}..{high}, got {value}")
            return None
        return value

    def names(self, m: _Map, key: str, known: dict[str, FieldSpec], required: bool) -> tuple[str, ...] | None:
        """Field names a setting refers to; a field that is itself invalid is reported once, there."""
        value = m.get(key)
        if value is None:
            if required:
                self.missing(m, key, "")
            return None
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
            self.add(self.line(m, key), key, "must be a field name or a non-empty list of field names")
            return None
        unknown = [i for i in items if i not in self.declared]
        if unknown:
            self.add(self.line(m, key), key, f"{', '.join(unknown)} is not in fields ({', '.join(self.declared)})")
            return None
        return tuple(items) if all(i in known for i in items) else None

    # -- sections --

    def job_file(self, raw: _Map) -> BatchJobConfig | None:
        named = raw.get("job")
        self.cohort = named if isinstance(named, str) else None
        self.duplicate_keys(raw)
        self.keys(raw, ("job", "dag_id", "description", "env", "owner", "tags", "schedule", "source", "fields", "key",
                        "amount_field", "hash_fields", "workers", "amount_tolerance", "tables", "connections",
                        "alerts", "retries"), "")
        job = self.text(raw, "job", "", pattern=_JOB, rule="lower_snake_case, max 48 characters")
        self.lines["job"] = self.line(raw, "job")
        dag_id = self.text(raw, "dag_id", "", required=False, pattern=_DAG_ID,
                           rule="letters, digits, _ . - (max 250)") or f"recon_batch_load_{job}"
        self.lines["dag_id"] = self.line(raw, "dag_id")
        env = self.text(raw, "env", "", pattern=_ENV, rule="letters, digits, _ . - (max 64)")
        owner = self.text(raw, "owner", "")
        description = self.text(raw, "description", "", required=False) or ""
        tags, schedule = self.tags(raw), self.schedule(raw)
        source = self.mapping(raw, "source", "")
        fmt = self.choice(source, "format", "source", FORMATS, True) if source is not None else None
        fields = self.fields(raw, fmt)
        known = {f.name: f for f in fields}
        key = self.names(raw, "key", known, True)
        for name in key or ():
            if name in known and not known[name].required:
                self.add(self.line(raw, "key"), "key", f"key field {name} must be required (it is the final table's key)")
        amount = self.amount_field(raw, known)
        hash_fields = self.names(raw, "hash_fields", known, False) or (*(key or ()), *((amount,) if amount else ()))
        layout = self.layout(source, fmt, fields, key, amount, hash_fields) if source is not None else None
        path = self.source_path(source) if source is not None else None
        workers = self.integer(raw, "workers", "", 1, MAX_WORKERS, DEFAULT_WORKERS)
        retries = self.integer(raw, "retries", "", 0, 10, 1)
        tolerance = self.tolerance(raw)
        tables = self.tables(self.mapping(raw, "tables", ""))
        connections = self.connections(self.mapping(raw, "connections", ""))
        alerts_raw = self.mapping(raw, "alerts", "", required=False)
        alerts = self.alerts(alerts_raw) if alerts_raw is not None else AlertRoutes()
        if self.problems:
            return None
        return BatchJobConfig(job=job, dag_id=dag_id, env=env, owner=owner, tags=tags, schedule=schedule,
                              source_path=path, layout=layout, workers=workers, amount_tolerance=tolerance,
                              tables=tables, connections=connections, alerts=alerts, retries=retries,
                              description=description, path=self.path)

    def fields(self, raw: _Map, fmt: str | None) -> list[FieldSpec]:
        items = self.get(raw, "fields", "", (_Seq,), True)
        self.declared = [i["name"] for i in items or () if isinstance(i, _Map) and isinstance(i.get("name"), str)]
        result: list[FieldSpec] = []
        seen: set[str] = set()
        for index, item in enumerate(items or ()):
            where = f"fields[#{index + 1}]"
            if not isinstance(item, _Map):
                self.add(items.item_lines[index], where, "must be a mapping with name and type")
                continue
            spec = self.field(item, where, fmt, seen)
            if spec is not None:
                result.append(spec)
        if items is not None and not items:
            self.add(self.line(raw, "fields"), "fields", "a job needs at least one field")
        return result

    def field(self, item: _Map, where: str, fmt: str | None, seen: set[str]) -> FieldSpec | None:
        named = item.get("name")
        where = f"fields[{named}]" if isinstance(named, str) and _IDENT.match(named) else where
        self.keys(item, ("name", "type", "required", "start", "length", "column", "scale", "format"), where)
        name = self.text(item, "name", where, pattern=_IDENT, rule=_IDENT_RULE)
        problems = len(self.problems)
        if name in RESERVED_COLUMNS:
            self.add(self.line(item, "name"), f"{where}.name", f"{name} is a column the load adds itself; rename it")
        elif name in seen:
            self.add(self.line(item, "name"), f"{where}.name", f"{name} is defined twice")
        seen.add(name or "")
        kind = self.choice(item, "type", where, FIELD_TYPES, True)
        required = self.get(item, "required", where, (bool,), False)
        start = length = None
        if fmt == "fixed_width":
            start = self.integer(item, "start", where, 1, 100_000)
            length = self.integer(item, "length", where, 1, 100_000)
        elif fmt == "csv":
            for key in ("start", "length"):
                if key in item:
                    self.add(self.line(item, key), f"{where}.{key}", "belongs to fixed_width sources only")
        column = self.text(item, "column", where, required=False) if fmt == "csv" else None
        if fmt == "fixed_width" and "column" in item:
            self.add(self.line(item, "column"), f"{where}.column", "belongs to csv sources only")
        scale = self.get(item, "scale", where, (int,), False)
        if kind == "decimal" and (scale is None or not 0 <= scale <= 18):
            self.add(self.line(item, "scale"), f"{where}.scale", "a decimal field needs a scale (0..18)")
        elif kind != "decimal" and scale is not None:
            self.add(self.line(item, "scale"), f"{where}.scale", "applies to decimal fields only")
        date_format = self.text(item, "format", where, required=False)
        if date_format is not None and kind != "date":
            self.add(self.line(item, "format"), f"{where}.format", "applies to date fields only")
        if len(self.problems) > problems or name is None or kind is None:
            return None
        return FieldSpec(name=name, type=kind, required=True if required is None else required, start=start,
                         length=length, column=column, scale=scale, date_format=date_format or "%Y-%m-%d")

    def amount_field(self, raw: _Map, known: dict[str, FieldSpec]) -> str | None:
        name = self.text(raw, "amount_field", "", required=False)
        if name is None:
            return None
        if name in self.declared and name not in known:
            return None  # the field itself is invalid and already reported
        if name not in known or known[name].type not in ("decimal", "integer"):
            self.add(self.line(raw, "amount_field"), "amount_field",
                     f"{name} must be a decimal or integer field of this job")
            return None
        return name

    def tolerance(self, raw: _Map) -> Decimal:
        value = raw.get("amount_tolerance", DEFAULT_AMOUNT_TOLERANCE)
        try:
            if isinstance(value, bool):
                raise InvalidOperation
            tolerance = Decimal(str(value))
            if not tolerance.is_finite() or tolerance < 0:
                raise InvalidOperation
        except InvalidOperation:
            self.add(self.line(raw, "amount_tolerance"), "amount_tolerance", f"must be a number >= 0, got {value!r}")
            return DEFAULT_AMOUNT_TOLERANCE
        return tolerance

    def layout(self, source: _Map, fmt: str | None, fields: list[FieldSpec], key: tuple[str, ...] | None,
               amount: str | None, hash_fields: tuple[str, ...]) -> Layout | None:
        self.keys(source, ("path", "format", "encoding", "header", "delimiter", "record_length"), "source")
        encoding = self.text(source, "encoding", "source", required=False) or "utf-8"
        try:
            if "\n".encode(encoding) != b"\n":
                raise LookupError
            codecs.lookup(encoding)
        except LookupError:
            self.add(self.line(source, "encoding"), "source.encoding",
                     f"{encoding!r} is not a known encoding that writes newline as byte 0x0A")
        header = self.get(source, "header", "source", (bool,), False)
        delimiter = self.text(source, "delimiter", "source", required=False)
        record_length = self.integer(source, "record_length", "source", 1, 100_000, 0) or None
        if fmt == "fixed_width":
            for name in ("header", "delimiter"):
                if name in source:
                    self.add(self.line(source, name), f"source.{name}", "belongs to csv sources only")
        if fmt == "csv" and record_length:
            self.add(self.line(source, "record_length"), "source.record_length", "belongs to fixed_width sources only")
        if delimiter is not None and len(delimiter) != 1:
            self.add(self.line(source, "delimiter"), "source.delimiter", f"must be one character, got {delimiter!r}")
        if fmt is None or not fields or key is None:
            return None
        return Layout(format=fmt, fields=tuple(fields), key=key, amount_field=amount, hash_fields=hash_fields,
                      header=True if header is None and fmt == "csv" else bool(header), delimiter=delimiter or ",",
                      encoding=encoding, record_length=record_length)

    def source_path(self, source: _Map) -> str | None:
        path = self.text(source, "path", "source")
        if path is None or path.startswith("s3://"):
            return path
        if "://" in path:
            self.add(self.line(source, "path"), "source.path", f"{path!r}: use a local path or s3://bucket/key")
            return None
        resolved = Path(path)
        return str(resolved if resolved.is_absolute() else (Path(self.path).parent / resolved).resolve())

    def tables(self, raw: _Map | None) -> Tables | None:
        if raw is None:
            return None
        self.keys(raw, ("schema", "staging", "final", "rejects"), "tables")
        names = {k: self.text(raw, k, "tables", required=k != "rejects", pattern=_IDENT, rule=_IDENT_RULE)
                 for k in ("schema", "staging", "final", "rejects")}
        if names["staging"] and names["staging"] == names["final"]:
            self.add(self.line(raw, "final"), "tables.final", "must differ from tables.staging")
        if any(names[k] is None for k in ("schema", "staging", "final")):
            return None
        rejects = names["rejects"] or f"{names['staging']}_rejects"[:63]
        return Tables(schema=names["schema"], staging=names["staging"], final=names["final"], rejects=rejects)

    def connections(self, raw: _Map | None) -> BatchConnections | None:
        if raw is None:
            return None
        self.keys(raw, ("target", "store", "aws"), "connections")
        ids = {k: self.text(raw, k, "connections", required=k == "target", pattern=_CONN_ID, rule=_CONN_RULE)
               for k in ("target", "store", "aws")}
        if ids["target"] is None:
            return None
        return BatchConnections(target=ids["target"], store=ids["store"] or DEFAULT_STORE_CONN_ID,
                                aws=ids["aws"] or DEFAULT_AWS_CONN_ID)


def _parse(path: Path) -> tuple[BatchJobConfig | None, _JobReader]:
    reader = _JobReader(str(path))
    try:
        raw = read_yaml(path, "batch job file")
    except YamlFileError as exc:
        reader.add(exc.line, None, exc.message)
        return None, reader
    if not isinstance(raw, _Map):
        reader.add(None, None, "a batch job file is a mapping with job, source, fields, key, tables, connections...")
        return None, reader
    return reader.job_file(raw), reader


def load_batch_job(path: str | Path) -> BatchJobConfig:
    """Load and validate one job file; raises ``BatchJobConfigError`` listing every problem."""
    job, reader = _parse(Path(path))
    if job is None:
        raise BatchJobConfigError(reader.report())  # type: ignore[arg-type]
    return job


def batch_jobs_dir() -> Path:
    return config_dir() / "batch_jobs"


def load_batch_jobs(directory: str | Path | None = None) -> list[BatchJobConfig]:
    """Every job file in the folder; job names and DAG ids must be unique across files."""
    folder = Path(directory) if directory is not None else batch_jobs_dir()
    if not folder.is_dir():
        raise BatchJobConfigError([JobProblem(str(folder), None, None, None, "batch job folder not found")])
    problems: list[JobProblem] = []
    jobs: list[BatchJobConfig] = []
    seen: dict[tuple[str, str], str] = {}
    for path in sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()):
        job, reader = _parse(path)
        problems.extend(reader.report())  # type: ignore[arg-type]
        if job is None:
            continue
        for field in ("job", "dag_id"):
            value = getattr(job, field)
            if (field, value) in seen:
                problems.append(JobProblem(str(path), reader.lines.get(field), job.job, field,
                                           f"{value!r} is already used by {seen[(field, value)]}; it must be unique"))
            seen[(field, value)] = str(path)
        jobs.append(job)
    if problems:
        raise BatchJobConfigError(problems)
    return jobs
