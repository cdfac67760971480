"""Claims DAG config (include/config/claims/*.yaml), validated strictly before any DAG is built.

Loading reads the YAML and nothing else, so the DAG processor parses fast and unit tests need no
service. ``ClaimsFile`` is the file's shape (its field reference is docs/config-reference.md);
every problem raises at once in one ``ConfigError`` naming the file, line and field
(``daily_claims.yaml line 28: field compare.key_columns: must be a non-empty list of column names``);
an unknown key is an error too, since a misspelt option silently ignored is a wrong reconciliation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from recon_operators.config import ConfigError, ConfigModel, ConfigProblem, load_config
from recon_operators.config.fields import Bucket, ConnId, DagId, Identifier, IsoDate, Positive, Schedule, Text, matching

DEFAULT_MARKER = "NEWSYSTEM"
DEFAULT_SAMPLE_LIMIT = 1000
DEFAULT_WAIT_HOURS = 12.0
DEFAULT_POKE_SECONDS = 300.0
PLACEHOLDERS = ("ds", "ds_nodash")
_PREFIX_RULE = "an S3 prefix ending in '/' (letters, digits, _ . = - ! /, placeholders {ds} {ds_nodash})"


def _prefix(value: str) -> str:
    names = re.findall(r"{([^{}]*)}", value)
    if (
        not re.match(r"^[A-Za-z0-9_.=/{}!-]*/$", value)
        or not all(n in PLACEHOLDERS for n in names)
        or value.count("{") != len(names)
    ):
        raise ValueError(f"must be {_PREFIX_RULE}, got {value!r}")
    return value


def _columns(value: list[str]) -> tuple[str, ...]:
    if len(set(value)) != len(value):
        raise ValueError("names a column twice")
    return tuple(value)


Prefix = Annotated[str, AfterValidator(_prefix), Field(description=_PREFIX_RULE)]
Columns = Annotated[list[Identifier], AfterValidator(_columns)]
ColumnText = Mapping[Identifier, Annotated[str | int | float, AfterValidator(str)]]


class Connections(ConfigModel):
    store: ConnId = Field(description="results store holding the metrics.* tables")
    stage: ConnId = Field(description="Postgres holding the per-run stage tables")
    aws: ConnId = "aws_default"


class S3(ConfigModel):
    bucket: Bucket
    inbound_prefix: Prefix
    processed_prefix: Prefix
    output_bucket: Bucket | None = Field(None, description="defaults to bucket")
    output_prefix: Prefix


class Files(ConfigModel):
    new_marker: matching(r"^[A-Za-z0-9_.-]{1,64}$", "letters, digits, _ . - (max 64)") = Field(  # type: ignore[valid-type]
        DEFAULT_MARKER, description="the NEW file's name contains this; the OLD file's does not"
    )


class Compare(ConfigModel):
    key_columns: Annotated[Columns, Field(min_length=1)]
    columns: Annotated[Columns | None, BeforeValidator(lambda v: None if v == "all" else v)] = Field(
        None, description="all (every column both files share, the default) or a list of column names"
    )
    exclude: Columns = ()
    rules: ColumnText = Field(default_factory=dict, description="column -> rule text such as 'decimal,scale:2'")
    tolerances: ColumnText = Field(default_factory=dict, description="column -> '0.01' or '0.5%'")
    sample_limit: int = Field(
        DEFAULT_SAMPLE_LIMIT, ge=0, le=1_000_000, description="mismatch sample rows kept per kind"
    )

    @model_validator(mode="after")
    def _engine_accepts(self) -> Compare:
        """Rules and tolerances are parsed now, by the engine, so a typo fails the DAG import."""
        from recon_operators.claims.diff import build_spec
        from recon_operators.engine.rowdiff import DiffError

        try:
            build_spec(
                self.key_columns, self.columns, self.exclude, dict(self.rules), dict(self.tolerances), self.sample_limit
            )
        except DiffError as exc:
            raise ValueError(str(exc)) from None
        return self


class Stage(ConfigModel):
    schema_: Identifier = Field("stage", alias="schema")
    keep_tables: bool = Field(False, description="true keeps the day's stage tables for debugging")


class Landing(ConfigModel):
    wait_hours: Positive = Field(DEFAULT_WAIT_HOURS, description="how long after the business day files may land")
    poke_seconds: Positive = DEFAULT_POKE_SECONDS


class ClaimsFile(ConfigModel):
    """One claims file (include/config/claims/*.yaml): a daily OLD vs NEW extract reconciliation."""

    dag_id: DagId
    dataset: matching(r"^[a-z][a-z0-9_]{0,39}$", "lower_snake_case, at most 40 characters")  # type: ignore[valid-type]
    description: str = ""
    owner: Text
    tags: list[Text] = []
    schedule: Schedule | None = None
    start_date: IsoDate
    # Off by default: unpausing must not start a run for every missed day at once (each logs
    # NO_FILES when its window has closed); missed days are backfilled on purpose (docs/claims.md).
    catchup: bool = False
    connections: Connections
    s3: S3
    files: Files = Files()
    compare: Compare
    stage: Stage = Stage()
    landing: Landing = Landing()

    def to_config(self, source_file: str) -> ClaimsConfig:
        compare = self.compare
        return ClaimsConfig(
            source_file=source_file,
            dag_id=self.dag_id,
            dataset=self.dataset,
            owner=self.owner,
            schedule=self.schedule,
            start_date=self.start_date,
            catchup=self.catchup,
            store_conn_id=self.connections.store,
            stage_conn_id=self.connections.stage,
            aws_conn_id=self.connections.aws,
            bucket=self.s3.bucket,
            inbound_prefix=self.s3.inbound_prefix,
            processed_prefix=self.s3.processed_prefix,
            output_bucket=self.s3.output_bucket or self.s3.bucket,
            output_prefix=self.s3.output_prefix,
            key_columns=compare.key_columns,
            columns=compare.columns,
            exclude=compare.exclude,
            rules=dict(compare.rules),
            tolerances=dict(compare.tolerances),
            sample_limit=compare.sample_limit,
            new_marker=self.files.new_marker,
            stage_schema=self.stage.schema_,
            keep_stage_tables=self.stage.keep_tables,
            wait_hours=float(self.landing.wait_hours),
            poke_seconds=float(self.landing.poke_seconds),
            description=self.description,
            tags=tuple(self.tags),
        )


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

    def prefixes_for(self, business_date: date) -> DayPrefixes:
        """The day's S3 prefixes with ``{ds}``/``{ds_nodash}`` filled from the business date."""
        values = {"ds": business_date.isoformat(), "ds_nodash": business_date.strftime("%Y%m%d")}
        return DayPrefixes(
            self.inbound_prefix.format(**values),
            self.processed_prefix.format(**values),
            self.output_prefix.format(**values),
        )


@dataclass(frozen=True)
class DayPrefixes:
    inbound: str
    processed: str
    output: str


def load_claims_config(path: Path) -> ClaimsConfig:
    """Read and validate one claims config file (``ConfigError`` lists every problem, located)."""
    return load_config(ClaimsFile, path, "claims file").to_config(str(path))


def load_claims_configs(folder: Path) -> list[ClaimsConfig]:
    """Every ``*.yaml``/``*.yml`` in the folder, in name order; dag ids must be unique."""
    configs = [load_claims_config(p) for p in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])]
    seen: dict[str, str] = {}
    for config in configs:
        if config.dag_id in seen:
            raise ConfigError(
                [
                    ConfigProblem(
                        config.source_file,
                        None,
                        "dag_id",
                        f"{config.dag_id!r} is already used by {seen[config.dag_id]}",
                    )
                ]
            )
        seen[config.dag_id] = config.source_file
    return configs
