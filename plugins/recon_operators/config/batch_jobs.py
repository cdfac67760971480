"""Batch load jobs: one YAML file per job in include/config/batch_jobs, validated before any DAG.

Like the cohort files, loading reads only the YAML (no database, no S3, not the source file),
through the one config loader, so every problem of a file is reported at once, one line each,
naming file, line, job and field::

    accounts.yaml line 12: job 'accounts', field fields[amount].scale: a decimal field needs a scale (0..18)

Settings that name fields (``key``, ``hash_fields``, ``amount_field``) and the positions a
source format needs are checked against the file's fields in the same round as the fields'
own problems (``cross_checks``), so one run lists them all.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from recon_operators.batchload.layout import FieldSpec, Layout
from recon_operators.batchload.staging import Tables
from recon_operators.config import ConfigError, ConfigModel, ConfigProblem, Located, load_config
from recon_operators.config.dags import Alerts
from recon_operators.config.fields import ConnId, DagId, NonNegative, Schedule, Text, as_tuple, between, matching
from recon_operators.config.loader import SourcedModel, load_folder
from recon_operators.paths import config_dir

RESERVED_COLUMNS = ("run_id", "worker_id", "line_no", "last_run_id", "reason", "record")
DEFAULT_WORKERS = 4
MAX_WORKERS = 64
DEFAULT_AMOUNT_TOLERANCE = Decimal("0.01")

Ident = matching(r"^[a-z_][a-z0-9_]{0,62}$", "a lower-case SQL identifier (letters, digits, _; max 63)")
Position = between(1, 100_000)


def _names(value: Any) -> Any:
    value = [value] if isinstance(value, str) else value
    if not isinstance(value, list) or not value or not all(isinstance(i, str) for i in value):
        raise ValueError("must be a field name or a non-empty list of field names")
    return tuple(value)


def _encoding(value: str) -> str:
    try:
        if "\n".encode(value) != b"\n":
            raise LookupError
        codecs.lookup(value)
    except LookupError:
        raise ValueError(f"{value!r} is not a known encoding that writes newline as byte 0x0A") from None
    return value


def _source_path(value: str) -> str:
    if "://" in value and not value.startswith("s3://"):
        raise ValueError(f"{value!r}: use a local path or s3://bucket/key")
    return value


Names = Annotated[tuple[str, ...], BeforeValidator(_names), Field(description="a field name or a list of them")]


class Source(ConfigModel):
    """The extract to load: where it is and how its records are laid out."""

    path: Annotated[Text, AfterValidator(_source_path)] = Field(
        description="absolute, relative to the job file, or s3://bucket/key (connections.aws)"
    )
    format: Literal["fixed_width", "csv"]
    encoding: Annotated[Text, AfterValidator(_encoding)] = "utf-8"
    header: bool | None = Field(None, description="csv: the first line names the columns (default true)")
    delimiter: Annotated[str, Field(min_length=1, max_length=1)] | None = Field(None, description="csv: default ,")
    record_length: Position | None = Field(None, description="fixed_width: the length every record must have")

    @model_validator(mode="after")
    def _fits_format(self) -> Source:
        other = {"fixed_width": ("header", "delimiter"), "csv": ("record_length",)}[self.format]
        problems = [
            ((key,), f"belongs to {'csv' if self.format == 'fixed_width' else 'fixed_width'} sources only")
            for key in other
            if key in self.model_fields_set
        ]
        if problems:
            raise Located(problems)
        return self


class FieldItem(ConfigModel):
    """One field of the record: its type, and where it sits (fixed-width start/length or csv column)."""

    item_id: ClassVar[str] = "name"
    name: Ident  # type: ignore[valid-type]
    type: Literal["text", "integer", "decimal", "date"]
    required: bool = True
    start: Position | None = Field(None, description="fixed_width: 1-based first character (required there)")
    length: Position | None = Field(None, description="fixed_width: characters (required there)")
    column: Text | None = Field(None, description="csv: header name; default: the field's name")
    scale: int | None = Field(None, description="decimal: digits after the point, 0..18 (required there)")
    format: Text | None = Field(None, description="date: strptime format; default %Y-%m-%d")

    @model_validator(mode="after")
    def _fits_type(self) -> FieldItem:
        problems: list[tuple[Sequence[Any], str]] = []
        if self.name in RESERVED_COLUMNS:
            problems.append((("name",), f"{self.name} is a column the load adds itself; rename it"))
        if self.type == "decimal" and (self.scale is None or not 0 <= self.scale <= 18):
            problems.append((("scale",), "a decimal field needs a scale (0..18)"))
        elif self.type != "decimal" and self.scale is not None:
            problems.append((("scale",), "applies to decimal fields only"))
        if self.format is not None and self.type != "date":
            problems.append((("format",), "applies to date fields only"))
        if problems:
            raise Located(problems)
        return self

    def spec(self) -> FieldSpec:
        return FieldSpec(
            name=self.name,
            type=self.type,
            required=self.required,
            start=self.start,
            length=self.length,
            column=self.column,
            scale=self.scale,
            date_format=self.format or "%Y-%m-%d",
        )


class TableNames(ConfigModel):
    """Where the job's rows land in the target database."""

    schema_: Ident = Field(alias="schema")  # type: ignore[valid-type]
    staging: Ident  # type: ignore[valid-type]
    final: Ident  # type: ignore[valid-type]
    rejects: Ident | None = Field(None, description="default: <staging>_rejects")  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _apart(self) -> TableNames:
        if self.staging == self.final:
            raise Located([(("final",), "must differ from tables.staging")])
        return self


class BatchConnections(ConfigModel):
    """The Airflow connections a job uses."""

    target: ConnId = Field(description="Postgres holding the staging and final tables")
    store: ConnId = "recon_store"
    aws: ConnId = Field("aws_default", description="S3 sources")


class BatchJobConfig(SourcedModel):
    """include/config/batch_jobs/*.yaml: one extract loaded in parallel into staging, merged, reconciled."""

    job: matching(r"^[a-z][a-z0-9_]{0,47}$", "lower_snake_case, max 48 characters")  # type: ignore[valid-type]
    dag_id_: DagId | None = Field(None, alias="dag_id", description="default: recon_batch_load_<job>")
    description: str = ""
    env: matching(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", "letters, digits, _ . - (max 64)")  # type: ignore[valid-type]
    owner: Text
    tags: Annotated[tuple[Annotated[str, Field(min_length=1, max_length=100)], ...], BeforeValidator(as_tuple)] = ()
    schedule: Schedule | None = Field(None, description="empty: manual runs only")
    source: Source
    fields: Annotated[tuple[FieldItem, ...], BeforeValidator(as_tuple)] = Field(min_length=1)
    key: Names = Field(description="the final table's key: required fields of this job")
    amount_field: Text | None = Field(None, description="a decimal or integer field summed per level")
    hash_fields: Names | None = Field(None, description="default: the key and the amount field")
    workers: between(1, MAX_WORKERS) = DEFAULT_WORKERS  # type: ignore[valid-type]
    amount_tolerance: NonNegative = DEFAULT_AMOUNT_TOLERANCE
    tables_: TableNames = Field(alias="tables")
    connections: BatchConnections
    alerts: Alerts = Alerts()
    retries: between(0, 10) = 1  # type: ignore[valid-type]

    @classmethod
    def subject(cls, document: Mapping[str, Any]) -> str | None:
        return document.get("job") if isinstance(document.get("job"), str) else None

    @classmethod
    def cross_checks(cls, document: Mapping[str, Any], valid: Mapping[str, Any]) -> Iterable[tuple[Sequence[Any], str]]:
        """Settings naming fields, and field positions the source format needs, against the raw
        fields (a field wrong in itself is reported there once, and still counts as declared)."""
        items = document.get("fields") if isinstance(document.get("fields"), list) else []
        raw = {i: f for i, f in enumerate(items) if isinstance(f, dict) and isinstance(f.get("name"), str)}
        declared = [f["name"] for f in raw.values()]
        for index, item in raw.items():
            if item["name"] in declared[: list(raw).index(index)]:
                yield ("fields", index, "name"), f"{item['name']} is defined twice"
        source_format = valid["source"].format if "source" in valid else None
        for index, item in raw.items():
            for key, own in (("start", "fixed_width"), ("length", "fixed_width"), ("column", "csv")):
                if source_format == own and own == "fixed_width" and key not in item:
                    yield ("fields", index, key), "required field is missing"
                elif source_format and source_format != own and key in item:
                    yield ("fields", index, key), f"belongs to {own} sources only"
        for key in ("key", "hash_fields"):
            unknown = [n for n in valid.get(key) or () if n not in declared]
            if unknown:
                yield (key,), f"{', '.join(unknown)} is not in fields ({', '.join(declared)})"
        by_name = {f["name"]: f for f in raw.values()}
        for name in valid.get("key") or ():
            if by_name.get(name, {}).get("required") is False:
                yield ("key",), f"key field {name} must be required (it is the final table's key)"
        amount = valid.get("amount_field")
        if amount is not None and by_name.get(amount, {}).get("type") not in ("decimal", "integer"):
            yield ("amount_field",), f"{amount} must be a decimal or integer field of this job"

    @property
    def dag_id(self) -> str:
        return self.dag_id_ or f"recon_batch_load_{self.job}"

    @cached_property
    def layout(self) -> Layout:
        csv = self.source.format == "csv"
        return Layout(
            format=self.source.format,
            fields=tuple(f.spec() for f in self.fields),
            key=self.key,
            amount_field=self.amount_field,
            hash_fields=self.hash_fields or (*self.key, *((self.amount_field,) if self.amount_field else ())),
            header=self.source.header if self.source.header is not None else csv,
            delimiter=self.source.delimiter or ",",
            encoding=self.source.encoding,
            record_length=self.source.record_length,
        )

    @property
    def source_path(self) -> str:
        """Absolute local path (relative ones from the job file's folder) or s3://bucket/key."""
        path = self.source.path
        if path.startswith("s3://") or Path(path).is_absolute():
            return path
        return str((Path(self.path or ".").parent / path).resolve())

    @property
    def tables(self) -> Tables:
        names = self.tables_
        return Tables(
            schema=names.schema_,
            staging=names.staging,
            final=names.final,
            rejects=names.rejects or f"{names.staging}_rejects"[:63],
        )


@dataclass(frozen=True)
class JobProblem(ConfigProblem):
    """A located problem of a batch job file: ``file line N: job 'x', field F: message``."""

    noun: ClassVar[str | None] = "job"
    job = property(lambda self: self.subject)


class BatchJobConfigError(ConfigError):
    """One or more batch job files are invalid; ``problems`` holds each one, located."""

    kind = "batch job config"
    problem = JobProblem


def load_batch_job(path: str | Path) -> BatchJobConfig:
    """Load and validate one job file; raises ``BatchJobConfigError`` listing every problem."""
    return load_config(BatchJobConfig, path, "batch job file", error=BatchJobConfigError)


def batch_jobs_dir() -> Path:
    return config_dir() / "batch_jobs"


def load_batch_jobs(directory: str | Path | None = None) -> list[BatchJobConfig]:
    """Every job file in the folder; job names and DAG ids must be unique across files."""
    jobs, problems = load_folder(BatchJobConfig, directory or batch_jobs_dir(), "batch job file", BatchJobConfigError)
    seen: dict[tuple[str, str], str] = {}
    for job in jobs:
        for field in ("job", "dag_id"):
            value = getattr(job, field)
            if (field, value) in seen:
                problems.append(
                    JobProblem(
                        job.path or "",
                        job.line(field),
                        field,
                        f"{value!r} is already used by {seen[(field, value)]}; it must be unique",
                        job.job,
                    )
                )
            seen[(field, value)] = job.path or ""
    if problems:
        raise BatchJobConfigError(problems)
    return jobs
