"""Cohort config: one YAML file per cohort in include/config/cohorts, validated before any DAG is built.

Loading reads the YAML files and nothing else (no database, no S3, not even the suite files), so
the DAG processor parses fast and the same code runs in the CLI and in unit tests. The file is a
typed model read by the one config loader, so every problem is reported at once, one line each,
naming file, line, cohort and field::

    cohort_b.yaml line 31: cohort 'B', field stages.mini_recon_2.polcy: unknown key (did you mean 'policy'?)

A bad file raises ``CohortConfigError``, so the DAG file fails to import as a whole with that
message: a cohort is never built as a half DAG from a half-valid config.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from recon_operators.config import ConfigError, ConfigModel, ConfigProblem, Located, line_of, load_config
from recon_operators.config.dags import Alerts
from recon_operators.config.fields import (
    Bucket,
    ConnId,
    DagId,
    Policy,
    Schedule,
    Text,
    as_tuple,
    matching,
    number_as_text,
)
from recon_operators.config.loader import SourcedModel, load_folder
from recon_operators.paths import config_dir

STAGES = (
    "transform",
    "mini_recon_1",
    "stage",
    "mini_recon_2",
    "target",
    "mini_recon_3",
    "overall_summary",
    "etl_stage_report",
)
LOAD_STAGES = ("transform", "stage", "target")
RECON_STAGES = ("mini_recon_1", "mini_recon_2", "mini_recon_3")
REPORT_STAGES = ("overall_summary", "etl_stage_report")  # optional; policy defaults to warn
# Same values as operators.gate.POLICIES, repeated because that module imports Airflow.
POLICIES = ("stop", "approve", "fail", "warn")
LOAD_KINDS = ("builtin", "glue", "trigger_dag", "spark")
RUN_PARAMS = ("env", "cohort_id", "prefix_id", "prefix", "batch_id", "msisdn_start", "msisdn_end")
# A landing (the BRM extract) belongs to the whole cohort: one sensor waits for it, so its key can
# only name cohort-level params; a batch placeholder would render empty in that sensor.
COHORT_PARAMS = ("env", "cohort_id")
DEFAULT_LANDING_TIMEOUT_MINUTES = 720


def _msisdn(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f'must be quoted digits, e.g. "{value}" (a bare YAML number can lose leading zeros)')
    return value


def _minutes(value: int) -> int:
    if value <= 0:
        raise ValueError(f"must be a whole number of minutes > 0, got {value}")
    return value


def _suite(value: str) -> str:
    if not re.match(r"^[A-Za-z0-9_][A-Za-z0-9_./-]*\.ya?ml$", value) or ".." in value.split("/"):
        raise ValueError(
            f"{value!r} must be a .yaml file name relative to include/config/suites (no absolute paths, no ..)"
        )
    return value


def _unique(values: tuple[str, ...]) -> tuple[str, ...]:
    twice = [((i,), f"{v} is listed twice") for i, v in enumerate(values) if v in values[:i]]
    if twice:
        raise Located(twice)
    return values


# A subset of the scope value rule ([A-Za-z0-9_.:@+-]) that is also safe in DAG, task and group ids;
# an id written as a number (7) counts as the text '7'.
Id = Annotated[
    matching(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", "letters, digits, _ . - (max 64, starting with a letter or digit)"),
    BeforeValidator(number_as_text),
]
Msisdn = Annotated[matching(r"^[0-9]{1,15}$", "digits only, at most 15"), BeforeValidator(_msisdn)]  # E.164
Minutes = Annotated[int, AfterValidator(_minutes), Field(description="a whole number of minutes > 0")]
Suites = Annotated[
    tuple[Annotated[str, AfterValidator(_suite)], ...],
    AfterValidator(_unique),
    BeforeValidator(lambda v: as_tuple([v] if isinstance(v, str) else v)),
    Field(description="suite file name(s) under include/config/suites; one name or a list"),
]
Scalars = Annotated[
    tuple[tuple[str, str | int | float | bool], ...],
    BeforeValidator(lambda v: tuple(v.items()) if isinstance(v, dict) else v),
    Field(description="a mapping of names to strings, numbers or booleans"),
]


# -- the models ------------------------------------------------------------------------------


class BatchConfig(ConfigModel):
    """An inclusive MSISDN range inside its prefix; digit strings, since leading digits matter."""

    item_id: ClassVar[str] = "batch_id"
    batch_id: Id
    msisdn_start: Msisdn
    msisdn_end: Msisdn

    @model_validator(mode="after")
    def _range(self) -> BatchConfig:
        start, end = self.msisdn_start, self.msisdn_end
        if len(start) != len(end):
            raise Located(
                [
                    (
                        ("msisdn_end",),
                        f"{end} has {len(end)} digits but msisdn_start {start} has "
                        f"{len(start)}; both need the same length",
                    )
                ]
            )
        if int(start) > int(end):
            raise Located(
                [
                    (
                        ("msisdn_end",),
                        f"{end} is below msisdn_start {start}; the range is inclusive and must not be empty",
                    )
                ]
            )
        return self

    @property
    def size(self) -> int:
        return int(self.msisdn_end) - int(self.msisdn_start) + 1


class PrefixConfig(ConfigModel):
    """The MSISDN digits every batch of this prefix starts with, and its batches."""

    item_id: ClassVar[str] = "prefix_id"
    prefix_id: Id
    prefix: Msisdn
    batches: Annotated[tuple[BatchConfig, ...], BeforeValidator(as_tuple)] = Field(min_length=1)

    @model_validator(mode="after")
    def _batches_in_prefix(self) -> PrefixConfig:
        problems: list[tuple[Sequence[Any], str]] = []
        for index, batch in enumerate(self.batches):
            earlier = [i for i, b in enumerate(self.batches[:index]) if b.batch_id == batch.batch_id]
            if earlier:
                problems.append(
                    (
                        ("batches", index, "batch_id"),
                        f"batch id {batch.batch_id!r} is already used in "
                        f"this prefix on line {line_of('batches', earlier[0], 'batch_id')}",
                    )
                )
        if problems:
            raise Located(problems)
        return self

    def batch(self, batch_id: str) -> BatchConfig:
        for batch in self.batches:
            if batch.batch_id == batch_id:
                return batch
        raise KeyError(f"prefix {self.prefix_id!r} has no batch {batch_id!r}")


def _overlapping(
    items: list[tuple[Any, BatchConfig]],
) -> Iterator[tuple[tuple[Any, BatchConfig], tuple[Any, BatchConfig]]]:
    """Pairs (earlier, later) whose inclusive ranges share a number of the same length."""
    ordered = sorted(items, key=lambda i: (len(i[1].msisdn_start), int(i[1].msisdn_start)))
    widest: tuple[Any, BatchConfig] | None = None
    for item in ordered:
        batch = item[1]
        if (
            widest is not None
            and len(widest[1].msisdn_end) == len(batch.msisdn_start)
            and int(batch.msisdn_start) <= int(widest[1].msisdn_end)
        ):
            yield widest, item
        if (
            widest is None
            or len(widest[1].msisdn_end) != len(batch.msisdn_end)
            or int(batch.msisdn_end) > int(widest[1].msisdn_end)
        ):
            widest = item


def _prefixes_apart(prefixes: tuple[PrefixConfig, ...]) -> tuple[PrefixConfig, ...]:
    """Prefix ids unique, prefix digits not nested, batch ranges not shared: an MSISDN is migrated once."""
    problems: list[tuple[Sequence[Any], str]] = []
    for index, prefix in enumerate(prefixes):
        for other_index, other in enumerate(prefixes[:index]):
            if prefix.prefix_id == other.prefix_id:
                problems.append(
                    (
                        (index, "prefix_id"),
                        f"prefix id {prefix.prefix_id!r} is already used on line "
                        f"{line_of(other_index, 'prefix_id')}; prefix ids must be unique",
                    )
                )
            elif prefix.prefix.startswith(other.prefix) or other.prefix.startswith(prefix.prefix):
                same = "is the same as" if prefix.prefix == other.prefix else "overlaps"
                problems.append(
                    (
                        (index, "prefix"),
                        f"prefix {prefix.prefix} {same} prefix {other.prefix} of "
                        f"{other.prefix_id} (line {line_of(other_index, 'prefix')}); "
                        "an MSISDN must belong to one prefix",
                    )
                )
    clashing = {loc[0] for loc, _ in problems}
    for index, prefix in enumerate(prefixes):
        for number, batch in enumerate(prefix.batches if index not in clashing else ()):
            for key in ("msisdn_start", "msisdn_end"):
                if not getattr(batch, key).startswith(prefix.prefix):
                    problems.append(
                        (
                            (index, "batches", number, key),
                            f"{getattr(batch, key)} is outside its prefix {prefix.prefix}",
                        )
                    )
    if not problems:
        batches = [((p, b, (i, "batches", j)), b) for i, p in enumerate(prefixes) for j, b in enumerate(p.batches)]
        for ((pa, ba, at), _), ((_, bb, loc), _) in _overlapping(batches):
            problems.append(
                (
                    loc,
                    f"range {bb.msisdn_start}..{bb.msisdn_end} overlaps batch {pa.prefix_id}/"
                    f"{ba.batch_id} ({ba.msisdn_start}..{ba.msisdn_end}, line {line_of(*at)})",
                )
            )
    if problems:
        raise Located(problems)
    return prefixes


class LoadStep(ConfigModel):
    """How a load stage moves data: a built-in loader (demo), a Glue job, a Spark job or another DAG.

    With ``pass_params`` the run params travel too (``--env``... Glue arguments or conf keys).
    """

    KINDS: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "builtin": ("loader",),
        "glue": ("job_name", "arguments", "pass_params", "timeout_minutes"),
        "trigger_dag": ("dag_id", "conf", "pass_params", "timeout_minutes"),
        "spark": ("application", "conn_id", "arguments", "pass_params", "timeout_minutes"),
    }
    kind: Literal["builtin", "glue", "trigger_dag", "spark"]
    loader: matching(r"^[a-z][a-z0-9_]{0,62}$", "lower_snake_case") | None = Field(  # type: ignore[valid-type]
        None, description="builtin: the built-in loader; default: the stage's name"
    )
    job_name: matching(r"^[A-Za-z0-9_.-]{1,255}$", "letters, digits, _ . - (max 255)") | None = Field(  # type: ignore[valid-type]
        None, description="glue: the Glue job (required)"
    )
    dag_id: DagId | None = Field(None, description="trigger_dag: the DAG to run and wait for (required)")
    application: matching(r"^\S{1,1000}\.(py|jar)$", "a .py or .jar path, local or s3a://, without spaces") | None = (
        Field(  # type: ignore[valid-type]
            None, description="spark: the Transformation job spark-submit runs and waits for (required)"
        )
    )
    conn_id: ConnId = Field("spark_default", description="spark: the Spark connection (master, deploy mode)")
    arguments: Scalars = Field((), description="glue, spark: extra arguments named --name")
    conf: Scalars = Field((), description="trigger_dag: extra conf keys")
    pass_params: bool = True
    timeout_minutes: Minutes | None = None

    @model_validator(mode="after")
    def _fits_kind(self) -> LoadStep:
        own = self.KINDS[self.kind]
        problems: list[tuple[Sequence[Any], str]] = [
            ((key,), "unknown key (belongs to kind " + " / ".join(k for k in LOAD_KINDS if key in self.KINDS[k]) + ")")
            for key in sorted(self.model_fields_set - {"kind", *own})
        ]
        required = {"glue": "job_name", "trigger_dag": "dag_id", "spark": "application"}.get(self.kind)
        if required and getattr(self, required) is None:
            problems.append(((required,), "required field is missing"))
        for key, pattern, rule, reserved in (
            (
                "arguments",
                r"^--[A-Za-z][A-Za-z0-9_-]{0,127}$",
                "--name (two dashes, then letters, digits, _ -)",
                {f"--{p}" for p in RUN_PARAMS},
            ),
            ("conf", r"^[A-Za-z_][A-Za-z0-9_]{0,127}$", "a plain name (letters, digits, _)", set(RUN_PARAMS)),
        ):
            for name, _ in getattr(self, key):
                if not re.match(pattern, name):
                    problems.append(((key, name), f"name is not allowed: {rule}"))
                elif self.pass_params and name in reserved:
                    problems.append(
                        (
                            (key, name),
                            "is passed from the run params already (pass_params: true); "
                            "set pass_params: false to pass your own",
                        )
                    )
        if problems:
            raise Located(problems)
        return self

    def arguments_for(self, params: Mapping[str, str]) -> dict[str, Any]:
        """Glue/Spark arguments or trigger conf for one run: run params first, config extras on top."""
        if self.kind in ("glue", "spark"):
            passed = {f"--{k}": str(v) for k, v in params.items()} if self.pass_params else {}
            return {**passed, **{k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in self.arguments}}
        if self.kind == "trigger_dag":
            return {**(dict(params) if self.pass_params else {}), **dict(self.conf)}
        return {}

    def application_args(self, params: Mapping[str, str]) -> list[str]:
        """spark: the arguments as spark-submit passes them to the application (``--name value``...)."""
        return [item for pair in self.arguments_for(params).items() for item in pair]


_LOAD_ONLY = f"belongs to the load stages ({', '.join(LOAD_STAGES)})"
_RECON_ONLY = f"belongs to the recon stages ({', '.join(RECON_STAGES + REPORT_STAGES)}), not a load stage"


class LoadStage(ConfigModel):
    """A load hop (transform, stage, target)."""

    key_hints: ClassVar[Mapping[str, str]] = {k: _RECON_ONLY for k in ("suites", "policy", "approval_timeout_minutes")}
    load: LoadStep


class ReconStage(ConfigModel):
    """A recon hop: suites checked after the load, then a gate with this policy."""

    key_hints: ClassVar[Mapping[str, str]] = {"load": _LOAD_ONLY}
    suites: Suites
    policy: Policy
    approval_timeout_minutes: Minutes | None = None

    @model_validator(mode="after")
    def _gate_settings(self) -> ReconStage:
        problems: list[tuple[Sequence[Any], str]] = []
        if not self.suites and not isinstance(self, ReportStage):
            problems.append((("suites",), "a recon stage needs at least one suite file"))
        if self.approval_timeout_minutes is not None and self.policy != "approve":
            problems.append(
                (
                    ("approval_timeout_minutes",),
                    f"only applies to policy approve (this stage's policy is {self.policy})",
                )
            )
        if problems:
            raise Located(problems)
        return self


class ReportStage(ReconStage):
    """An optional report hop (overall summary, ETL stage report); its gate warns unless told otherwise."""

    suites: Suites = ()
    policy: Policy = "warn"


_GATE = {"missing": "required stage is missing (every load needs its recon gate)"}


class Stages(ConfigModel):
    """The hops in pipeline order: every load is followed by its recon gate."""

    transform: LoadStage = Field(json_schema_extra=_GATE)
    mini_recon_1: ReconStage = Field(json_schema_extra=_GATE)
    stage: LoadStage = Field(json_schema_extra=_GATE)
    mini_recon_2: ReconStage = Field(json_schema_extra=_GATE)
    target: LoadStage = Field(json_schema_extra=_GATE)
    mini_recon_3: ReconStage = Field(json_schema_extra=_GATE)
    overall_summary: ReportStage | None = None
    etl_stage_report: ReportStage | None = None


@dataclass(frozen=True)
class StageConfig:
    """One hop as the DAG factory builds it: load stages carry ``load``, recon and report stages suites."""

    name: str
    load: LoadStep | None = None
    suites: tuple[str, ...] = ()
    policy: str | None = None
    approval_timeout_minutes: int | None = None

    @property
    def is_load(self) -> bool:
        return self.load is not None

    @property
    def approval_timeout(self) -> timedelta | None:
        return None if self.approval_timeout_minutes is None else timedelta(minutes=self.approval_timeout_minutes)


class AlertRoutes(Alerts):
    """Where a stopped gate is announced; a cohort needs at least one route."""

    @model_validator(mode="after")
    def _reaches_someone(self) -> AlertRoutes:
        if self.slack_conn_id is None and self.sns_topic_arn is None:
            raise ValueError("needs slack_conn_id or sns_topic_arn: a stopped gate must reach someone")
        return self


def _folder(value: str) -> str:
    if value and (not value.endswith("/") or value.startswith("/")):
        raise ValueError(f"{value!r} must be a folder like 'brm/' (ending with /, not starting with /)")
    return value


def _cohort_key(value: str) -> str:
    """S3 key text: safe characters, no .. segments, placeholders only for ``COHORT_PARAMS``."""
    if not re.match(r"^[A-Za-z0-9_.=/*?{}!-]*$", value) or ".." in value.split("/"):
        raise ValueError(f"{value!r} may hold letters, digits, _ . = - / ! wildcards * ? and {{param}} placeholders")
    try:
        parsed = list(string.Formatter().parse(value))
    except ValueError:
        raise ValueError(f"{value!r} has an unbalanced {{ or }}") from None
    for _, name, spec, conversion in parsed:
        if name is not None and (name not in COHORT_PARAMS or spec or conversion):
            raise ValueError(
                f"placeholder {{{name}}} is not allowed here; use one of "
                + ", ".join("{" + p + "}" for p in COHORT_PARAMS)
            )
    return value


class LandingConfig(ConfigModel):
    """Where the BRM file lands in S3; its arrival starts Mini Recon 3 data prep."""

    bucket: Bucket
    prefix: Annotated[str, AfterValidator(_folder), AfterValidator(_cohort_key)] = Field(
        "", description="a folder ending with /; {env}/{cohort_id} placeholders allowed"
    )
    brm_key_pattern: Annotated[Text, AfterValidator(_cohort_key)] = Field(
        description="relative to prefix; {env}/{cohort_id} placeholders, * and ? wildcards"
    )
    timeout_minutes: Minutes = DEFAULT_LANDING_TIMEOUT_MINUTES

    @property
    def wildcard(self) -> bool:
        return any(c in self.prefix + self.brm_key_pattern for c in "*?")

    def brm_key(self, params: Mapping[str, str]) -> str:
        return (self.prefix + self.brm_key_pattern).format_map(params)


class ConnectionIds(ConfigModel):
    """The Airflow connections a cohort's hops use."""

    transform_pg: ConnId
    stage_mysql: ConnId
    target: ConnId
    stage_mongo: ConnId | None = None
    store: ConnId = "recon_store"
    aws: ConnId = Field("aws_default", description="Glue, SNS and the S3 landing sensor")


class CohortConfig(SourcedModel):
    """include/config/cohorts/*.yaml: one migration cohort, its MSISDN batches and its gated hops."""

    cohort_id: Id
    dag_id_: DagId | None = Field(None, alias="dag_id", description="default: recon_cohort_<cohort_id>")
    description: str = ""
    env: Id
    owner: Text
    tags: Annotated[tuple[Annotated[str, Field(min_length=1, max_length=100)], ...], BeforeValidator(as_tuple)] = ()
    schedule: Schedule | None = Field(None, description="empty: manual runs only")
    connections: ConnectionIds
    prefixes: Annotated[tuple[PrefixConfig, ...], AfterValidator(_prefixes_apart), BeforeValidator(as_tuple)] = Field(
        min_length=1
    )
    stages_: Stages = Field(alias="stages")
    alerts: AlertRoutes
    landing: LandingConfig | None = None

    @classmethod
    def subject(cls, document: Mapping[str, Any]) -> str | None:
        named = document.get("cohort_id")
        return str(named) if isinstance(named, (str, int)) and not isinstance(named, bool) else None

    @property
    def dag_id(self) -> str:
        return self.dag_id_ or f"recon_cohort_{self.cohort_id}"

    @cached_property
    def stages(self) -> tuple[StageConfig, ...]:
        """The cohort's hops in pipeline order (``STAGES``); a left-out report stage is absent."""
        found = []
        for name in STAGES:
            body = getattr(self.stages_, name)
            if isinstance(body, LoadStage):
                load = (
                    body.load
                    if body.load.kind != "builtin" or body.load.loader
                    else body.load.model_copy(update={"loader": name})
                )
                found.append(StageConfig(name=name, load=load))
            elif body is not None:
                found.append(
                    StageConfig(
                        name=name,
                        suites=body.suites,
                        policy=body.policy,
                        approval_timeout_minutes=body.approval_timeout_minutes,
                    )
                )
        return tuple(found)

    def stage(self, name: str) -> StageConfig | None:
        """The stage's config, or None for an optional report stage the cohort leaves out."""
        if name not in STAGES:
            raise KeyError(f"unknown stage {name!r}")
        return next((s for s in self.stages if s.name == name), None)

    def prefix(self, prefix_id: str) -> PrefixConfig:
        for prefix in self.prefixes:
            if prefix.prefix_id == prefix_id:
                return prefix
        raise KeyError(f"cohort {self.cohort_id!r} has no prefix {prefix_id!r}")

    def batches(self) -> Iterator[tuple[PrefixConfig, BatchConfig]]:
        for prefix in self.prefixes:
            for batch in prefix.batches:
                yield prefix, batch

    def cohort_params(self) -> dict[str, str]:
        """The params every run of the cohort shares (``COHORT_PARAMS``)."""
        return {"env": self.env, "cohort_id": self.cohort_id}

    def run_params(self, prefix_id: str, batch_id: str) -> dict[str, str]:
        """The params one batch run carries (also its scope, without the stage)."""
        prefix = self.prefix(prefix_id)
        batch = prefix.batch(batch_id)
        return {
            "env": self.env,
            "cohort_id": self.cohort_id,
            "prefix_id": prefix.prefix_id,
            "prefix": prefix.prefix,
            "batch_id": batch.batch_id,
            "msisdn_start": batch.msisdn_start,
            "msisdn_end": batch.msisdn_end,
        }


# -- errors and entry points -----------------------------------------------------------------


@dataclass(frozen=True)
class CohortProblem(ConfigProblem):
    """A located problem of a cohort file: ``file line N: cohort 'A', field F: message``."""

    noun: ClassVar[str | None] = "cohort"
    cohort = property(lambda self: self.subject)


class CohortConfigError(ConfigError):
    """One or more cohort files are invalid; ``problems`` holds each one, located."""

    kind = "cohort config"
    problem = CohortProblem


def load_cohort(path: str | Path) -> CohortConfig:
    """Load and validate one cohort file; raises ``CohortConfigError`` listing every problem."""
    return load_config(CohortConfig, path, "cohort file", error=CohortConfigError)


def cohorts_dir() -> Path:
    return config_dir() / "cohorts"


def load_cohorts(directory: str | Path | None = None) -> list[CohortConfig]:
    """Every ``*.yaml``/``*.yml`` cohort in the folder, checked alone and against each other.

    Across files: cohort ids and DAG ids are unique, and no MSISDN belongs to two cohorts of
    the same env. Any problem anywhere raises one ``CohortConfigError`` listing all of them.
    """
    loaded, problems = load_folder(CohortConfig, directory or cohorts_dir(), "cohort file", CohortConfigError)
    problems.extend(_cross_file_problems(loaded))
    if problems:
        raise CohortConfigError(problems)
    return loaded


def _cross_file_problems(loaded: list[CohortConfig]) -> Iterable[CohortProblem]:
    for field in ("cohort_id", "dag_id"):
        first: dict[str, CohortConfig] = {}
        for cohort in loaded:
            value = getattr(cohort, field)
            if value in first:
                other = first[value]
                yield CohortProblem(
                    cohort.path or "",
                    cohort.line(field),
                    field,
                    f"{value!r} is already used by {other.path} line {other.line(field)}; "
                    f"{field.replace('_', ' ')}s must be unique across cohort files",
                    cohort.cohort_id,
                )
            else:
                first[value] = cohort
    by_env: dict[str, list[tuple[tuple[CohortConfig, PrefixConfig, int, int], BatchConfig]]] = {}
    for cohort in loaded:
        for i, prefix in enumerate(cohort.prefixes):
            for j, batch in enumerate(prefix.batches):
                by_env.setdefault(cohort.env, []).append(((cohort, prefix, i, j), batch))
    for items in by_env.values():
        for ((ca, pa, ia, ja), ba), ((cb, pb, ib, jb), bb) in _overlapping(items):
            if ca is not cb:  # inside one cohort: already reported by that file's own check
                yield CohortProblem(
                    cb.path or "",
                    cb.line("prefixes", ib, "batches", jb),
                    f"prefixes[{pb.prefix_id}].batches[{bb.batch_id}]",
                    f"range {bb.msisdn_start}..{bb.msisdn_end} overlaps cohort {ca.cohort_id!r} batch "
                    f"{pa.prefix_id}/{ba.batch_id} ({ca.path} line {ca.line('prefixes', ia, 'batches', ja)}); "
                    "an MSISDN must belong to one cohort per env",
                    cb.cohort_id,
                )


def missing_suites(cohort: CohortConfig, suites_dir: str | Path | None = None) -> list[str]:
    """Suite files the cohort names that do not exist: for ``recon validate`` and tests, never at parse."""
    folder = Path(suites_dir) if suites_dir is not None else config_dir() / "suites"
    return sorted({s for stage in cohort.stages for s in stage.suites if not (folder / s).is_file()})
