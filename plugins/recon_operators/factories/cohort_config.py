"""Cohort config: one YAML file per cohort in include/config/cohorts, validated before any DAG is built.

Loading reads the YAML files and nothing else (no database, no S3, not even the suite files), so
the DAG processor parses fast and the same code runs in the CLI and in unit tests. Every problem
in a file is reported at once, one line each, naming file, line, cohort and field::

    cohort_b.yaml line 31: cohort 'B', field stages.mini_recon_2.polcy: unknown key (did you mean 'policy'?)

A bad file raises ``CohortConfigError``, so the DAG file fails to import as a whole with that
message: a cohort is never built as a half DAG from a half-valid config.
"""

from __future__ import annotations

import difflib
import re
import string
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from croniter import croniter

from recon_operators.config import ConfigError
from recon_operators.paths import config_dir
# Mappings and lists that know their lines (the names this module's readers always used).
from recon_operators.yaml_lines import LineList as _Seq, LineMap as _Map
from recon_operators.yaml_lines import YamlFileError, duplicate_keys, plain, read_yaml

STAGES = ("transform", "mini_recon_1", "stage", "mini_recon_2", "target", "mini_recon_3",
          "overall_summary", "etl_stage_report")
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
DEFAULT_STORE_CONN_ID = "recon_store"
DEFAULT_AWS_CONN_ID = "aws_default"
DEFAULT_LANDING_TIMEOUT_MINUTES = 720

# A subset of the scope value rule ([A-Za-z0-9_.:@+-]) that is also safe in DAG, task and group ids.
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_DAG_ID = re.compile(r"^[A-Za-z0-9_.-]{1,250}$")
_CONN_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,249}$")
_SPARK_APP = re.compile(r"^\S{1,1000}\.(py|jar)$")  # the Transformation job spark-submit runs
_GLUE_JOB = re.compile(r"^[A-Za-z0-9_.-]{1,255}$")
_LOADER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_GLUE_ARG = re.compile(r"^--[A-Za-z][A-Za-z0-9_-]{0,127}$")
_CONF_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_DIGITS = re.compile(r"^[0-9]{1,15}$")  # E.164: at most 15 digits
_SUITE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./-]*\.ya?ml$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_KEY_CHARS = re.compile(r"^[A-Za-z0-9_.=/*?{}!-]*$")
_SNS_ARN = re.compile(r"^arn:aws(-[a-z]+)*:sns:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")
_ID_RULE = "letters, digits, _ . - (max 64, starting with a letter or digit)"


# -- the config objects ----------------------------------------------------------------------

@dataclass(frozen=True)
class BatchConfig:
    """An inclusive MSISDN range inside its prefix; digit strings, since leading digits matter."""

    batch_id: str
    msisdn_start: str
    msisdn_end: str

    @property
    def size(self) -> int:
        return int(self.msisdn_end) - int(self.msisdn_start) + 1


@dataclass(frozen=True)
class PrefixConfig:
    prefix_id: str
    prefix: str  # the MSISDN digits every batch of this prefix starts with
    batches: tuple[BatchConfig, ...]

    def batch(self, batch_id: str) -> BatchConfig:
        for batch in self.batches:
            if batch.batch_id == batch_id:
                return batch
        raise KeyError(f"prefix {self.prefix_id!r} has no batch {batch_id!r}")


@dataclass(frozen=True)
class LoadStep:
    """How a load stage moves data: a built-in loader (demo), a Glue job or another DAG (production).

    ``arguments`` (glue) and ``conf`` (trigger_dag) are (key, value) pairs so the object stays
    hashable; with ``pass_params`` the run params travel too (``--env``... or conf keys).
    """

    kind: str
    loader: str | None = None  # builtin: which built-in loader (defaults to the stage name)
    job_name: str | None = None  # glue
    dag_id: str | None = None  # trigger_dag
    application: str | None = None  # spark: the job spark-submit runs (.py or .jar, local or s3a://)
    conn_id: str | None = None  # spark: the Spark connection (master, deploy mode)
    arguments: tuple[tuple[str, str], ...] = ()
    conf: tuple[tuple[str, Any], ...] = ()
    pass_params: bool = True
    timeout_minutes: int | None = None

    def arguments_for(self, params: Mapping[str, str]) -> dict[str, Any]:
        """Glue script arguments or trigger conf for one run: run params first, config extras on top."""
        if self.kind in ("glue", "spark"):
            passed = {f"--{k}": str(v) for k, v in params.items()} if self.pass_params else {}
            return {**passed, **dict(self.arguments)}
        if self.kind == "trigger_dag":
            return {**(dict(params) if self.pass_params else {}), **dict(self.conf)}
        return {}

    def application_args(self, params: Mapping[str, str]) -> list[str]:
        """spark: the arguments as spark-submit passes them to the application (``--name value``...)."""
        return [item for pair in self.arguments_for(params).items() for item in pair]


@dataclass(frozen=True)
class StageConfig:
    """One hop: load stages carry ``load``; recon and report stages carry suites and a gate policy."""

    name: str
    load: LoadStep | None = None
    suites: tuple[str, ...] = ()  # file names under include/config/suites
    policy: str | None = None
    approval_timeout_minutes: int | None = None

    @property
    def is_load(self) -> bool:
        return self.load is not None

    @property
    def approval_timeout(self) -> timedelta | None:
        return None if self.approval_timeout_minutes is None else timedelta(minutes=self.approval_timeout_minutes)


@dataclass(frozen=True)
class AlertRoutes:
    slack_conn_id: str | None = None
    sns_topic_arn: str | None = None


@dataclass(frozen=True)
class LandingConfig:
    """Where the BRM file lands in S3; its arrival starts Mini Recon 3 data prep."""

    bucket: str
    brm_key_pattern: str  # relative to prefix; {env}/{cohort_id} placeholders, * and ? wildcards
    prefix: str = ""
    timeout_minutes: int = DEFAULT_LANDING_TIMEOUT_MINUTES

    @property
    def wildcard(self) -> bool:
        return any(c in self.prefix + self.brm_key_pattern for c in "*?")

    def brm_key(self, params: Mapping[str, str]) -> str:
        return (self.prefix + self.brm_key_pattern).format_map(params)



@dataclass(frozen=True)
class ConnectionIds:
    transform_pg: str
    stage_mysql: str
    target: str
    stage_mongo: str | None = None
    store: str = DEFAULT_STORE_CONN_ID
    aws: str = DEFAULT_AWS_CONN_ID  # Glue, SNS and the S3 landing sensor


@dataclass(frozen=True)
class CohortConfig:
    cohort_id: str
    dag_id: str
    env: str
    owner: str
    tags: tuple[str, ...]
    schedule: str | None
    connections: ConnectionIds
    prefixes: tuple[PrefixConfig, ...]
    stages: tuple[StageConfig, ...]  # in pipeline order (STAGES)
    alerts: AlertRoutes
    landing: LandingConfig | None = None
    description: str = ""
    path: str | None = None

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
        return {"env": self.env, "cohort_id": self.cohort_id, "prefix_id": prefix.prefix_id,
                "prefix": prefix.prefix, "batch_id": batch.batch_id, "msisdn_start": batch.msisdn_start,
                "msisdn_end": batch.msisdn_end}


# -- errors ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class CohortProblem:
    file: str
    line: int | None
    cohort: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        at = f" line {self.line}" if self.line else ""
        parts = [f"cohort {self.cohort!r}" if self.cohort else "cohort <unnamed>"]
        if self.field:
            parts.append(f"field {self.field}")
        return f"{self.file}{at}: {', '.join(parts)}: {self.message}"


class CohortConfigError(ConfigError):
    """One or more cohort files are invalid; ``problems`` holds each one, located."""

    kind = "cohort config"


def _join(where: str, key: Any) -> str:
    return f"{where}.{key}" if where else str(key)


_KIND_NAMES: dict[type, str] = {dict: "mapping", _Map: "mapping", list: "list", _Seq: "list", str: "string",
                                bool: "boolean", int: "number", float: "number", type(None): "empty value"}


def _kind(value: Any) -> str:
    return _KIND_NAMES.get(type(value), type(value).__name__)


# -- validation ------------------------------------------------------------------------------

class _Reader:
    """Reads one cohort file, collecting every problem instead of stopping at the first."""

    def __init__(self, path: str):
        self.path = path
        self.cohort: str | None = None
        self.problems: list[CohortProblem] = []
        self.lines: dict[str, int] = {}  # field -> line, for checks across files
        self._missing: list[tuple[CohortProblem, int, str]] = []
        self._typos: set[tuple[int, str]] = set()

    def add(self, line: int | None, field: str | None, message: str) -> None:
        self.problems.append(CohortProblem(self.path, line, self.cohort, field, message))

    def missing(self, m: _Map, key: str, where: str, message: str = "required field is missing") -> None:
        self.add(m.line, _join(where, key), message)
        self._missing.append((self.problems[-1], id(m), key))

    def report(self) -> list[CohortProblem]:
        """Problems in file order; a key missing only because it is misspelt is reported once, as the typo."""
        drop = {id(p) for p, owner, key in self._missing if (owner, key) in self._typos}
        return sorted((p for p in self.problems if id(p) not in drop), key=lambda p: p.line or 0)

    @staticmethod
    def line(m: _Map, key: str) -> int:
        return m.key_lines.get(key, m.line)

    def duplicate_keys(self, raw: _Map) -> None:
        for duplicate in duplicate_keys(raw):
            self.add(duplicate.line, duplicate.path, duplicate.message)

    def keys(self, m: _Map, allowed: Iterable[str], where: str, hints: Mapping[str, str] | None = None) -> None:
        allowed = tuple(allowed)
        for key in m:
            if key in allowed:
                continue
            hint = (hints or {}).get(str(key))
            if hint is None:
                close = difflib.get_close_matches(str(key), [a for a in allowed if a not in m], n=1, cutoff=0.7)
                hint = f"did you mean {close[0]!r}?" if close else f"allowed here: {', '.join(allowed)}"
                if close:
                    self._typos.add((id(m), close[0]))
            self.add(self.line(m, key), _join(where, key), f"unknown key ({hint})")

    def get(self, m: _Map, key: str, where: str, kinds: tuple[type, ...], required: bool) -> Any:
        value = m.get(key)
        if value is None:
            if required:
                self.missing(m, key, where)
            return None
        if not isinstance(value, kinds) or isinstance(value, bool) and bool not in kinds:
            wanted = " or ".join(dict.fromkeys(_KIND_NAMES.get(k, k.__name__) for k in kinds))
            self.add(self.line(m, key), _join(where, key), f"must be a {wanted}, got {_kind(value)} {plain(value)!r}")
            return None
        return value

    def text(self, m: _Map, key: str, where: str, *, required: bool = True, pattern: re.Pattern[str] | None = None,
             rule: str = "", numbers: bool = False) -> str | None:
        """A string field; ``numbers`` lets ids written as 7 count as '7'."""
        value = self.get(m, key, where, (str, int) if numbers else (str,), required)
        if value is None:
            return None
        value = str(value)
        if not value.strip():
            self.add(self.line(m, key), _join(where, key), "must not be empty")
            return None
        if pattern is not None and not pattern.match(value):
            self.add(self.line(m, key), _join(where, key), f"{value!r} is not allowed: {rule}")
            return None
        return value

    def choice(self, m: _Map, key: str, where: str, options: tuple[str, ...], required: bool) -> str | None:
        value = self.get(m, key, where, (str,), required)
        if value is None or value in options:
            return value
        close = difflib.get_close_matches(value, options, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        self.add(self.line(m, key), _join(where, key), f"must be one of {', '.join(options)}, got {value!r}{hint}")
        return None

    def minutes(self, m: _Map, key: str, where: str) -> int | None:
        value = self.get(m, key, where, (int,), False)
        if value is not None and value <= 0:
            self.add(self.line(m, key), _join(where, key), f"must be a whole number of minutes > 0, got {value}")
            return None
        return value

    def mapping(self, m: _Map, key: str, where: str, required: bool = True) -> _Map | None:
        return self.get(m, key, where, (_Map,), required)

    def msisdn(self, m: _Map, key: str, where: str) -> str | None:
        value = m.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            self.add(self.line(m, key), _join(where, key),
                     f'must be quoted digits, e.g. "{value}" (a bare YAML number can lose leading zeros)')
            return None
        return self.text(m, key, where, pattern=_DIGITS, rule="digits only, at most 15")

    # -- sections --

    def cohort_file(self, raw: _Map) -> CohortConfig | None:
        named = raw.get("cohort_id")
        self.cohort = str(named) if isinstance(named, (str, int)) and not isinstance(named, bool) else None
        self.duplicate_keys(raw)
        self.keys(raw, ("cohort_id", "dag_id", "description", "env", "owner", "tags", "schedule", "connections",
                        "prefixes", "stages", "alerts", "landing"), "")
        cohort_id = self.text(raw, "cohort_id", "", pattern=_ID, rule=_ID_RULE, numbers=True)
        self.lines["cohort_id"] = self.line(raw, "cohort_id")
        dag_id = self.text(raw, "dag_id", "", required=False, pattern=_DAG_ID,
                           rule="letters, digits, _ . - (max 250)") or f"recon_cohort_{cohort_id}"
        self.lines["dag_id"] = self.line(raw, "dag_id")
        env = self.text(raw, "env", "", pattern=_ID, rule=_ID_RULE)
        owner = self.text(raw, "owner", "")
        description = self.text(raw, "description", "", required=False) or ""
        tags = self.tags(raw)
        schedule = self.schedule(raw)
        connections = self.connections(self.mapping(raw, "connections", ""))
        prefixes = self.prefixes(raw)
        stages = self.stages(self.mapping(raw, "stages", ""))
        alerts = self.alerts(self.mapping(raw, "alerts", ""))
        landing_raw = self.mapping(raw, "landing", "", required=False)
        landing = self.landing(landing_raw) if landing_raw is not None else None
        if self.problems:
            return None
        return CohortConfig(cohort_id=cohort_id, dag_id=dag_id, env=env, owner=owner, tags=tags, schedule=schedule,
                            connections=connections, prefixes=prefixes, stages=stages, alerts=alerts,
                            landing=landing, description=description, path=self.path)

    def tags(self, raw: _Map) -> tuple[str, ...]:
        tags = self.get(raw, "tags", "", (_Seq,), False) or _Seq(0, [], [])
        for index, tag in enumerate(tags):
            if not isinstance(tag, str) or not 0 < len(tag) <= 100:
                self.add(tags.item_lines[index], f"tags[{index}]", f"must be a string of 1-100 characters, got {tag!r}")
        return tuple(str(t) for t in tags)

    def schedule(self, raw: _Map) -> str | None:
        value = self.get(raw, "schedule", "", (str,), False)
        if value is None:
            return None
        fields = value.split()
        if not (croniter.is_valid(value) and (len(fields) == 5 or value.startswith("@"))):
            self.add(self.line(raw, "schedule"), "schedule",
                     f"{value!r} is not a valid cron expression (5 fields, e.g. '0 2 * * *', or @daily/@hourly...; "
                     "leave empty for manual runs only)")
            return None
        return value

    def connections(self, raw: _Map | None) -> ConnectionIds | None:
        if raw is None:
            return None
        where = "connections"
        self.keys(raw, ("store", "transform_pg", "stage_mysql", "stage_mongo", "target", "aws"), where)
        rule = "an Airflow connection id (letters, digits, _ . -)"
        ids = {key: self.text(raw, key, where, required=key in ("transform_pg", "stage_mysql", "target"),
                              pattern=_CONN_ID, rule=rule)
               for key in ("store", "transform_pg", "stage_mysql", "stage_mongo", "target", "aws")}
        return ConnectionIds(transform_pg=ids["transform_pg"], stage_mysql=ids["stage_mysql"], target=ids["target"],
                             stage_mongo=ids["stage_mongo"], store=ids["store"] or DEFAULT_STORE_CONN_ID,
                             aws=ids["aws"] or DEFAULT_AWS_CONN_ID)

    def prefixes(self, raw: _Map) -> tuple[PrefixConfig, ...]:
        items = self.get(raw, "prefixes", "", (_Seq,), True)
        if items is None:
            return ()
        if not items:
            self.add(self.line(raw, "prefixes"), "prefixes", "a cohort needs at least one prefix")
        result: list[PrefixConfig] = []
        ids: dict[str, int] = {}
        digits: dict[str, tuple[str, int]] = {}
        for index, item in enumerate(items):
            where = f"prefixes[#{index + 1}]"
            if not isinstance(item, _Map):
                self.add(items.item_lines[index], where, "must be a mapping with prefix_id, prefix and batches")
                continue
            prefix = self.prefix(item, where, ids, digits)
            if prefix is not None:
                result.append(prefix)
        self.overlaps(result)
        return tuple(result)

    def prefix(self, item: _Map, where: str, ids: dict[str, int], digits: dict[str, tuple[str, int]]
               ) -> PrefixConfig | None:
        named = item.get("prefix_id")
        self.keys(item, ("prefix_id", "prefix", "batches"),
                  f"prefixes[{named}]" if isinstance(named, (str, int)) and _ID.match(str(named)) else where)
        prefix_id = self.text(item, "prefix_id", where, pattern=_ID, rule=_ID_RULE, numbers=True)
        if prefix_id is not None:
            where = f"prefixes[{prefix_id}]"
            if prefix_id in ids:
                self.add(self.line(item, "prefix_id"), f"{where}.prefix_id",
                         f"prefix id {prefix_id!r} is already used on line {ids[prefix_id]}; prefix ids must be unique")
                prefix_id = None
            else:
                ids[prefix_id] = self.line(item, "prefix_id")
        number = self.msisdn(item, "prefix", where)
        if number is not None:
            for other, (other_id, other_line) in digits.items():
                if number.startswith(other) or other.startswith(number):
                    same = "is the same as" if number == other else "overlaps"
                    self.add(self.line(item, "prefix"), f"{where}.prefix",
                             f"prefix {number} {same} prefix {other} of {other_id} (line {other_line}); "
                             "an MSISDN must belong to one prefix")
                    number = None
                    break
        if number is not None:
            digits[number] = (prefix_id or where, self.line(item, "prefix"))
        batches = self.get(item, "batches", where, (_Seq,), True)
        if batches is not None and not batches:
            self.add(self.line(item, "batches"), f"{where}.batches", "a prefix needs at least one batch")
        result: list[BatchConfig] = []
        seen: dict[str, int] = {}
        for index, raw in enumerate(batches or ()):
            batch = self.batch(raw, batches.item_lines[index], f"{where}.batches[#{index + 1}]", number, seen)
            if batch is not None:
                result.append(batch)
                self.lines[f"{prefix_id}/{batch.batch_id}"] = batches.item_lines[index]
        if prefix_id is None or number is None or batches is None or len(result) != len(batches):
            return None
        return PrefixConfig(prefix_id=prefix_id, prefix=number, batches=tuple(result))

    def batch(self, raw: Any, line: int, where: str, prefix: str | None, seen: dict[str, int]) -> BatchConfig | None:
        if not isinstance(raw, _Map):
            self.add(line, where, "must be a mapping with batch_id, msisdn_start and msisdn_end")
            return None
        named = raw.get("batch_id")
        self.keys(raw, ("batch_id", "msisdn_start", "msisdn_end"),
                  re.sub(r"\[#\d+\]$", f"[{named}]", where) if isinstance(named, (str, int)) and _ID.match(str(named))
                  else where)
        batch_id = self.text(raw, "batch_id", where, pattern=_ID, rule=_ID_RULE, numbers=True)
        if batch_id is not None:
            where = re.sub(r"\[#\d+\]$", f"[{batch_id}]", where)
            if batch_id in seen:
                self.add(self.line(raw, "batch_id"), f"{where}.batch_id",
                         f"batch id {batch_id!r} is already used in this prefix on line {seen[batch_id]}")
                batch_id = None
            else:
                seen[batch_id] = self.line(raw, "batch_id")
        start, end = self.msisdn(raw, "msisdn_start", where), self.msisdn(raw, "msisdn_end", where)
        if start is None or end is None:
            return None
        ok = batch_id is not None
        if len(start) != len(end):
            self.add(self.line(raw, "msisdn_end"), f"{where}.msisdn_end",
                     f"{end} has {len(end)} digits but msisdn_start {start} has {len(start)}; both need the same length")
            ok = False
        elif int(start) > int(end):
            self.add(self.line(raw, "msisdn_end"), f"{where}.msisdn_end",
                     f"{end} is below msisdn_start {start}; the range is inclusive and must not be empty")
            ok = False
        for key, value in (("msisdn_start", start), ("msisdn_end", end)):
            if prefix is not None and not value.startswith(prefix):
                self.add(self.line(raw, key), f"{where}.{key}", f"{value} is outside its prefix {prefix}")
                ok = False
        return BatchConfig(batch_id=batch_id, msisdn_start=start, msisdn_end=end) if ok else None

    def overlaps(self, prefixes: list[PrefixConfig]) -> None:
        """Ranges of one cohort must not share an MSISDN: it would be migrated and counted twice."""
        for a, b in _overlapping([(p, b) for p in prefixes for b in p.batches]):
            (pa, ba), (pb, bb) = a, b
            self.add(self.lines.get(f"{pb.prefix_id}/{bb.batch_id}"), f"prefixes[{pb.prefix_id}].batches[{bb.batch_id}]",
                     f"range {bb.msisdn_start}..{bb.msisdn_end} overlaps batch {pa.prefix_id}/{ba.batch_id} "
                     f"({ba.msisdn_start}..{ba.msisdn_end}, line {self.lines.get(f'{pa.prefix_id}/{ba.batch_id}')})")

    def stages(self, raw: _Map | None) -> tuple[StageConfig, ...]:
        if raw is None:
            return ()
        self.keys(raw, STAGES, "stages")
        for name in (n for n in STAGES if n not in REPORT_STAGES):
            if name not in raw:
                self.missing(raw, name, "stages", "required stage is missing (every load needs its recon gate)")
        result: list[StageConfig] = []
        for name in STAGES:
            body = self.mapping(raw, name, "stages", required=False)
            stage = None if body is None else (self.load_stage(name, body) if name in LOAD_STAGES
                                               else self.recon_stage(name, body))
            if stage is not None:
                result.append(stage)
        return tuple(result)

    def load_stage(self, name: str, body: _Map) -> StageConfig | None:
        where = f"stages.{name}"
        misplaced = f"belongs to the recon stages ({', '.join(RECON_STAGES + REPORT_STAGES)}), not a load stage"
        self.keys(body, ("load",), where, {k: misplaced for k in ("suites", "policy", "approval_timeout_minutes")})
        step = self.mapping(body, "load", where)
        load = self.load_step(name, step, f"{where}.load") if step is not None else None
        return StageConfig(name=name, load=load) if load else None

    def load_step(self, stage: str, raw: _Map, where: str) -> LoadStep | None:
        allowed = {"builtin": ("kind", "loader"),
                   "glue": ("kind", "job_name", "arguments", "pass_params", "timeout_minutes"),
                   "trigger_dag": ("kind", "dag_id", "conf", "pass_params", "timeout_minutes"),
                   "spark": ("kind", "application", "conn_id", "arguments", "pass_params", "timeout_minutes")}
        given = raw.get("kind")
        known = allowed.get(given) if isinstance(given, str) else None
        every = tuple(dict.fromkeys(k for keys in allowed.values() for k in keys))
        hints = {k: "belongs to kind " + " / ".join(o for o in LOAD_KINDS if k in allowed[o])
                 for k in every if known and k not in known}
        self.keys(raw, known or every, where, hints)
        kind = self.choice(raw, "kind", where, LOAD_KINDS, required=True)
        if kind is None:
            return None
        before = len(self.problems)
        if kind == "builtin":
            loader = self.text(raw, "loader", where, required=False, pattern=_LOADER, rule="lower_snake_case")
            step = LoadStep(kind=kind, loader=loader or stage)
        else:
            pass_params = self.get(raw, "pass_params", where, (bool,), False)
            pass_params = True if pass_params is None else pass_params
            timeout = self.minutes(raw, "timeout_minutes", where)
            if kind == "spark":
                application = self.text(raw, "application", where, pattern=_SPARK_APP,
                                        rule="a .py or .jar path, local or s3a://, without spaces")
                conn_id = self.text(raw, "conn_id", where, required=False, pattern=_DAG_ID,
                                    rule="letters, digits, _ . - (max 250)")
                args = self.pairs(raw, "arguments", where, _GLUE_ARG, "--name (two dashes, then letters, digits, _ -)",
                                  {f"--{p}" for p in RUN_PARAMS} if pass_params else set(), True)
                step = LoadStep(kind=kind, application=application, conn_id=conn_id or "spark_default",
                                arguments=args, pass_params=pass_params, timeout_minutes=timeout)
            elif kind == "glue":
                job = self.text(raw, "job_name", where, pattern=_GLUE_JOB, rule="letters, digits, _ . - (max 255)")
                args = self.pairs(raw, "arguments", where, _GLUE_ARG, "--name (two dashes, then letters, digits, _ -)",
                                  {f"--{p}" for p in RUN_PARAMS} if pass_params else set(), True)
                step = LoadStep(kind=kind, job_name=job, arguments=args, pass_params=pass_params, timeout_minutes=timeout)
            else:
                dag_id = self.text(raw, "dag_id", where, pattern=_DAG_ID, rule="letters, digits, _ . - (max 250)")
                conf = self.pairs(raw, "conf", where, _CONF_KEY, "a plain name (letters, digits, _)",
                                  set(RUN_PARAMS) if pass_params else set(), False)
                step = LoadStep(kind=kind, dag_id=dag_id, conf=conf, pass_params=pass_params, timeout_minutes=timeout)
        return step if len(self.problems) == before else None

    def pairs(self, raw: _Map, key: str, where: str, pattern: re.Pattern[str], rule: str, reserved: set[str],
              stringify: bool) -> tuple[tuple[str, Any], ...]:
        """Glue arguments / trigger conf: named scalars (templates welcome), never shadowing run params."""
        body = self.mapping(raw, key, where, required=False)
        if body is None:
            return ()
        where = _join(where, key)
        result = []
        for name, value in body.items():
            line = self.line(body, name)
            if not isinstance(name, str) or not pattern.match(name):
                self.add(line, _join(where, name), f"name is not allowed: {rule}")
            elif name in reserved:
                self.add(line, _join(where, name), "is passed from the run params already (pass_params: true); "
                                                   "set pass_params: false to pass your own")
            elif not isinstance(value, (str, int, float, bool)):
                self.add(line, _join(where, name), f"must be a string, number or boolean, got {_kind(value)}")
            else:
                text = str(value).lower() if isinstance(value, bool) else str(value)
                result.append((name, text if stringify else value))
        return tuple(result)

    def recon_stage(self, name: str, body: _Map) -> StageConfig | None:
        where = f"stages.{name}"
        required = name in RECON_STAGES
        self.keys(body, ("suites", "policy", "approval_timeout_minutes"), where,
                  {"load": f"belongs to the load stages ({', '.join(LOAD_STAGES)})"})
        before = len(self.problems)
        suites = self.suites(body, where, required)
        policy = self.choice(body, "policy", where, POLICIES, required=required) or "warn"
        timeout = self.minutes(body, "approval_timeout_minutes", where)
        if timeout is not None and policy != "approve":
            self.add(self.line(body, "approval_timeout_minutes"), f"{where}.approval_timeout_minutes",
                     f"only applies to policy approve (this stage's policy is {policy})")
        if len(self.problems) != before:
            return None
        return StageConfig(name=name, suites=suites, policy=policy, approval_timeout_minutes=timeout)

    def suites(self, body: _Map, where: str, required: bool) -> tuple[str, ...]:
        value = self.get(body, "suites", where, (str, _Seq), required)
        if value is None:
            return ()
        items = _Seq(self.line(body, "suites"), [value], [self.line(body, "suites")]) if isinstance(value, str) else value
        if required and not items:
            self.add(items.line, f"{where}.suites", "a recon stage needs at least one suite file")
        result: list[str] = []
        for index, suite in enumerate(items):
            field = f"{where}.suites[{index}]"
            if not isinstance(suite, str) or not _SUITE.match(suite) or ".." in suite.split("/"):
                self.add(items.item_lines[index], field, f"{suite!r} must be a .yaml file name relative to "
                                                         "include/config/suites (no absolute paths, no ..)")
            elif suite in result:
                self.add(items.item_lines[index], field, f"{suite} is listed twice")
            else:
                result.append(suite)
        return tuple(result)

    def alerts(self, raw: _Map | None) -> AlertRoutes | None:
        if raw is None:
            return None
        self.keys(raw, ("slack_conn_id", "sns_topic_arn"), "alerts")
        slack = self.text(raw, "slack_conn_id", "alerts", required=False, pattern=_CONN_ID,
                          rule="an Airflow connection id (letters, digits, _ . -)")
        sns = self.text(raw, "sns_topic_arn", "alerts", required=False, pattern=_SNS_ARN,
                        rule="an SNS topic ARN, arn:aws:sns:<region>:<account>:<topic>")
        if raw.get("slack_conn_id") is None and raw.get("sns_topic_arn") is None:
            self.add(raw.line, "alerts", "needs slack_conn_id or sns_topic_arn: a stopped gate must reach someone")
        return AlertRoutes(slack_conn_id=slack, sns_topic_arn=sns)

    def landing(self, raw: _Map) -> LandingConfig | None:
        where = "landing"
        self.keys(raw, ("bucket", "prefix", "brm_key_pattern", "timeout_minutes"), where)
        bucket = self.text(raw, "bucket", where, pattern=_BUCKET, rule="an S3 bucket name (a-z, 0-9, . -; 3-63)")
        prefix = self.get(raw, "prefix", where, (str,), False) or ""
        if prefix and (not prefix.endswith("/") or prefix.startswith("/")):
            self.add(self.line(raw, "prefix"), f"{where}.prefix", f"{prefix!r} must be a folder like 'brm/' "
                                                                  "(ending with /, not starting with /)")
        pattern = self.text(raw, "brm_key_pattern", where)
        for key, value in (("prefix", prefix), ("brm_key_pattern", pattern or "")):
            problem = _key_problem(value, COHORT_PARAMS)
            if problem:
                self.add(self.line(raw, key), f"{where}.{key}", problem)
        timeout = self.minutes(raw, "timeout_minutes", where)
        if bucket is None or pattern is None:
            return None
        return LandingConfig(bucket=bucket, prefix=prefix, brm_key_pattern=pattern,
                             timeout_minutes=timeout or DEFAULT_LANDING_TIMEOUT_MINUTES)


def _key_problem(value: str, allowed: tuple[str, ...] = RUN_PARAMS) -> str | None:
    """S3 key text: safe characters, no .. segments, placeholders only for the ``allowed`` params."""
    if not _KEY_CHARS.match(value) or ".." in value.split("/"):
        return f"{value!r} may hold letters, digits, _ . = - / ! wildcards * ? and {{param}} placeholders"
    try:
        parsed = list(string.Formatter().parse(value))
    except ValueError:
        return f"{value!r} has an unbalanced {{ or }}"
    for _, name, spec, conversion in parsed:
        if name is not None and (name not in allowed or spec or conversion):
            return f"placeholder {{{name}}} is not allowed here; use one of {', '.join('{' + p + '}' for p in allowed)}"
    return None


def _overlapping(items: list[tuple[Any, BatchConfig]]) -> Iterator[tuple[tuple[Any, BatchConfig], tuple[Any, BatchConfig]]]:
    """Pairs (earlier, later) whose inclusive ranges share a number of the same length."""
    ordered = sorted(items, key=lambda i: (len(i[1].msisdn_start), int(i[1].msisdn_start)))
    widest: tuple[Any, BatchConfig] | None = None
    for item in ordered:
        batch = item[1]
        if widest is not None and len(widest[1].msisdn_end) == len(batch.msisdn_start) \
                and int(batch.msisdn_start) <= int(widest[1].msisdn_end):
            yield widest, item
        if widest is None or len(widest[1].msisdn_end) != len(batch.msisdn_end) \
                or int(batch.msisdn_end) > int(widest[1].msisdn_end):
            widest = item


# -- entry points ----------------------------------------------------------------------------

def _parse(path: Path) -> tuple[CohortConfig | None, _Reader]:
    reader = _Reader(str(path))
    try:
        raw = read_yaml(path, "cohort file")
    except YamlFileError as exc:
        reader.add(exc.line, None, exc.message)
        return None, reader
    if not isinstance(raw, _Map):
        reader.add(None, None, "a cohort file is a mapping with cohort_id, env, prefixes, stages, alerts...")
        return None, reader
    return reader.cohort_file(raw), reader


def load_cohort(path: str | Path) -> CohortConfig:
    """Load and validate one cohort file; raises ``CohortConfigError`` listing every problem."""
    cohort, reader = _parse(Path(path))
    if cohort is None:
        raise CohortConfigError(reader.report())
    return cohort


def cohorts_dir() -> Path:
    return config_dir() / "cohorts"


def load_cohorts(directory: str | Path | None = None) -> list[CohortConfig]:
    """Every ``*.yaml``/``*.yml`` cohort in the folder, checked alone and against each other.

    Across files: cohort ids and DAG ids are unique, and no MSISDN belongs to two cohorts of
    the same env. Any problem anywhere raises one ``CohortConfigError`` listing all of them.
    """
    folder = Path(directory) if directory is not None else cohorts_dir()
    if not folder.is_dir():
        raise CohortConfigError([CohortProblem(str(folder), None, None, None, "cohort folder not found")])
    files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    problems: list[CohortProblem] = []
    loaded: list[tuple[CohortConfig, _Reader]] = []
    for path in files:
        cohort, reader = _parse(path)
        problems.extend(reader.report())
        if cohort is not None:
            loaded.append((cohort, reader))
    problems.extend(_cross_file_problems(loaded))
    if problems:
        raise CohortConfigError(problems)
    return [cohort for cohort, _ in loaded]


def _cross_file_problems(loaded: list[tuple[CohortConfig, _Reader]]) -> list[CohortProblem]:
    problems: list[CohortProblem] = []
    for field in ("cohort_id", "dag_id"):
        first: dict[str, _Reader] = {}
        for cohort, reader in loaded:
            value = getattr(cohort, field)
            if value in first:
                other = first[value]
                problems.append(CohortProblem(
                    reader.path, reader.lines.get(field), cohort.cohort_id, field,
                    f"{value!r} is already used by {other.path} line {other.lines.get(field)}; "
                    f"{field.replace('_', ' ')}s must be unique across cohort files"))
            else:
                first[value] = reader
    by_env: dict[str, list[tuple[tuple[CohortConfig, _Reader, PrefixConfig], BatchConfig]]] = {}
    for cohort, reader in loaded:
        for prefix, batch in cohort.batches():
            by_env.setdefault(cohort.env, []).append(((cohort, reader, prefix), batch))
    for items in by_env.values():
        for (a, ba), (b, bb) in _overlapping(items):
            if a[0] is b[0]:
                continue  # inside one cohort: already reported by that file's own check
            problems.append(CohortProblem(
                b[1].path, b[1].lines.get(f"{b[2].prefix_id}/{bb.batch_id}"), b[0].cohort_id,
                f"prefixes[{b[2].prefix_id}].batches[{bb.batch_id}]",
                f"range {bb.msisdn_start}..{bb.msisdn_end} overlaps cohort {a[0].cohort_id!r} batch "
                f"{a[2].prefix_id}/{ba.batch_id} ({a[1].path} line {a[1].lines.get(f'{a[2].prefix_id}/{ba.batch_id}')}); "
                f"an MSISDN must belong to one cohort per env"))
    return problems


def missing_suites(cohort: CohortConfig, suites_dir: str | Path | None = None) -> list[str]:
    """Suite files the cohort names that do not exist: for ``recon validate`` and tests, never at parse."""
    folder = Path(suites_dir) if suites_dir is not None else config_dir() / "suites"
    return sorted({s for stage in cohort.stages for s in stage.suites if not (folder / s).is_file()})
