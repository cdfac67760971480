"""Subscriber job config (include/config/subscribers/jobs.yaml), validated before any DAG is built.

Loading reads only the YAML (no database, no AWS), as the other DAG configs do, and reports
every problem at once, one line each, naming file, line and field::

    jobs.yaml line 14: job 'subscribers', field jobs.export.format: must be one of csv, parquet, got 'xls'

S3 layout under ``s3.bucket`` / ``s3.prefix`` (default ``subscribers/``), per job type::

    <prefix><type>/incoming/*.csv          files land here (migration, bulk_delete)
    <prefix><type>/jobs/<job_id>/...       the claimed input, its rejects file, outputs
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from recon_operators.factories.batch_load_config import JobProblem, _JobReader
from recon_operators.factories.cohort_config import (_BUCKET, _CONN_ID, DEFAULT_AWS_CONN_ID, DEFAULT_STORE_CONN_ID,
                                                     AlertRoutes)
from recon_operators.config import ConfigError
from recon_operators.paths import config_dir
from recon_operators.subscribers.provisioning import Mode
from recon_operators.yaml_lines import LineMap as _Map
from recon_operators.yaml_lines import YamlFileError, read_yaml

JOB_TYPES = ("migration", "bulk_delete", "audit", "export")
FILE_JOBS = ("migration", "bulk_delete")
# The reference's workflow timeouts (minutes); bulk delete is a file job like migration.
DEFAULT_TIMEOUTS = {"migration": 60, "bulk_delete": 60, "audit": 30, "export": 40}
DELETE_MODES = ("soft", "hard")
EXPORT_FORMATS = ("csv", "parquet")
GATE_POLICIES = ("fail", "warn")  # an audit has no downstream load a stop could skip
DAG_ID_PREFIX = "subscriber_"
_TABLE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_PREFIX = re.compile(r"^([A-Za-z0-9_.=-]+/)*$")
_VARIABLE = re.compile(r"^[A-Za-z0-9_.-]{1,250}$")
_ENV = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_JOB_KEYS = {"migration": ("chunk_size", "landing_timeout_minutes"),
             "bulk_delete": ("chunk_size", "landing_timeout_minutes", "delete"),
             "audit": ("gate", "mismatch_limit"),
             "export": ("format", "url_expiry_minutes")}
_COMMON_KEYS = ("schedule", "timeout_minutes", "retries", "retry_delay_seconds")


@dataclass(frozen=True)
class JobSettings:
    """One job type's DAG: schedule and governance (timeout, retries with exponential backoff)."""

    job_type: str
    schedule: str | None
    timeout: timedelta
    retries: int = 2
    retry_delay: timedelta = timedelta(seconds=30)
    chunk_size: int = 5000
    landing_timeout: timedelta = timedelta(hours=12)
    delete: str = "soft"
    gate: str = "warn"
    mismatch_limit: int = 1_000_000
    format: str = "csv"
    url_expiry: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class SubscriberConfig:
    env: str
    owner: str
    dag_id_prefix: str
    default_mode: str
    mode_variable: str
    store_conn_id: str
    legacy_conn_id: str
    aws_conn_id: str
    cloud_table: str
    scan_segments: int
    bucket: str
    prefix: str
    jobs: dict[str, JobSettings]
    alerts: AlertRoutes
    path: str

    def dag_id(self, job_type: str) -> str:
        return f"{self.dag_id_prefix}{job_type}"

    def incoming(self, job_type: str) -> str:
        return f"{self.prefix}{job_type}/incoming/"

    def job_prefix(self, job_type: str, job_id: str) -> str:
        return f"{self.prefix}{job_type}/jobs/{job_id}/"


def job_type_of(dag_id: str) -> str | None:
    """The job type a subscriber DAG runs (``subscriber_[...]bulk_delete``), None for other DAGs."""
    if not dag_id.startswith(DAG_ID_PREFIX):
        return None
    return next((t for t in JOB_TYPES if dag_id.endswith(t)), None)


class SubscriberConfigError(ConfigError):
    """One or more subscriber job settings are invalid; ``problems`` holds each one, located."""

    kind = "subscriber job config"


class _Reader(_JobReader):
    def number(self, m: _Map, key: str, where: str, low: float, default: float) -> float:
        value = self.get(m, key, where, (int, float), False)
        if value is None:
            return default
        if value <= low:
            self.add(self.line(m, key), f"{where}.{key}", f"must be a number > {low:g}, got {value}")
            return default
        return float(value)

    def config(self, raw: _Map) -> SubscriberConfig | None:
        self.cohort = "subscribers"
        self.duplicate_keys(raw)
        self.keys(raw, ("env", "owner", "dag_id_prefix", "provisioning", "connections", "cloud", "s3", "alerts",
                        "jobs"), "")
        env = self.text(raw, "env", "", pattern=_ENV, rule="letters, digits, _ . - (max 64)")
        owner = self.text(raw, "owner", "")
        prefix = self.text(raw, "dag_id_prefix", "", required=False, pattern=re.compile(r"^subscriber_[a-z0-9_]*$"),
                           rule="subscriber_ then lower-case letters, digits, _") or DAG_ID_PREFIX
        provisioning = self.mapping(raw, "provisioning", "") or _Map(raw.line)
        self.keys(provisioning, ("default_mode", "variable"), "provisioning")
        mode = self.choice(provisioning, "default_mode", "provisioning", tuple(m.value for m in Mode), True)
        variable = self.text(provisioning, "variable", "provisioning", required=False, pattern=_VARIABLE,
                             rule="an Airflow Variable key") or "subscriber_provisioning_mode"
        conns = self.mapping(raw, "connections", "") or _Map(raw.line)
        self.keys(conns, ("store", "legacy", "aws"), "connections")
        ids = {k: self.text(conns, k, "connections", required=k == "legacy", pattern=_CONN_ID,
                            rule="an Airflow connection id") for k in ("store", "legacy", "aws")}
        cloud = self.mapping(raw, "cloud", "") or _Map(raw.line)
        self.keys(cloud, ("table", "scan_segments"), "cloud")
        table = self.text(cloud, "table", "cloud", pattern=_TABLE, rule="a DynamoDB table name (A-Z a-z 0-9 _ . -, 3-255)")
        segments = self.integer(cloud, "scan_segments", "cloud", 1, 64, 4)
        s3 = self.mapping(raw, "s3", "") or _Map(raw.line)
        self.keys(s3, ("bucket", "prefix"), "s3")
        bucket = self.text(s3, "bucket", "s3", pattern=_BUCKET, rule="an S3 bucket name (a-z, 0-9, . -; 3-63)")
        s3_prefix = self.get(s3, "prefix", "s3", (str,), False)
        s3_prefix = "subscribers/" if s3_prefix is None else s3_prefix
        if not _PREFIX.match(s3_prefix):
            self.add(self.line(s3, "prefix"), "s3.prefix", f"{s3_prefix!r} must be a folder like 'subscribers/'")
        alerts_raw = self.mapping(raw, "alerts", "", required=False)
        alerts = self.alerts(alerts_raw) if alerts_raw is not None else AlertRoutes()
        jobs = self.jobs(self.mapping(raw, "jobs", "") or _Map(raw.line))
        if self.problems:
            return None
        return SubscriberConfig(env=env, owner=owner, dag_id_prefix=prefix, default_mode=mode, mode_variable=variable,
                                store_conn_id=ids["store"] or DEFAULT_STORE_CONN_ID, legacy_conn_id=ids["legacy"],
                                aws_conn_id=ids["aws"] or DEFAULT_AWS_CONN_ID, cloud_table=table,
                                scan_segments=segments, bucket=bucket, prefix=s3_prefix, jobs=jobs, alerts=alerts,
                                path=self.path)

    def jobs(self, raw: _Map) -> dict[str, JobSettings]:
        self.keys(raw, JOB_TYPES, "jobs")
        settings = {}
        for job_type in JOB_TYPES:
            where = f"jobs.{job_type}"
            m = self.get(raw, job_type, "jobs", (_Map,), False) or _Map(raw.line)
            self.keys(m, (*_COMMON_KEYS, *_JOB_KEYS[job_type]), where)
            schedule = m.get("schedule")
            if schedule != "@continuous":
                schedule = self.schedule(m)
            elif job_type not in FILE_JOBS:
                self.add(self.line(m, "schedule"), f"{where}.schedule", "@continuous suits only file jobs "
                                                                         "(their runs wait for a landed file)")
            options = {
                "timeout": timedelta(minutes=self.number(m, "timeout_minutes", where, 0, DEFAULT_TIMEOUTS[job_type])),
                "retries": self.integer(m, "retries", where, 0, 10, 2),
                "retry_delay": timedelta(seconds=self.number(m, "retry_delay_seconds", where, 0, 30)),
            }
            if "chunk_size" in _JOB_KEYS[job_type]:
                options["chunk_size"] = self.integer(m, "chunk_size", where, 1, 100_000, 5000)
                options["landing_timeout"] = timedelta(minutes=self.number(m, "landing_timeout_minutes", where, 0, 720))
            if job_type == "bulk_delete":
                options["delete"] = self.choice(m, "delete", where, DELETE_MODES, False) or "soft"
            if job_type == "audit":
                options["gate"] = self.choice(m, "gate", where, GATE_POLICIES, False) or "warn"
                options["mismatch_limit"] = self.integer(m, "mismatch_limit", where, 1, 10_000_000, 1_000_000)
            if job_type == "export":
                options["format"] = self.choice(m, "format", where, EXPORT_FORMATS, False) or "csv"
                options["url_expiry"] = timedelta(minutes=self.number(m, "url_expiry_minutes", where, 0, 60))
            settings[job_type] = JobSettings(job_type=job_type, schedule=schedule, **options)
        return settings


def default_path() -> Path:
    return config_dir() / "subscribers" / "jobs.yaml"


def load_subscriber_config(path: str | Path | None = None) -> SubscriberConfig:
    """Load and validate the config; raises ``SubscriberConfigError`` listing every problem."""
    path = Path(path) if path is not None else default_path()
    reader = _Reader(str(path))
    try:
        raw = read_yaml(path, "subscriber job config")
    except YamlFileError as exc:
        raise SubscriberConfigError([JobProblem(str(path), exc.line, "subscribers", None, exc.message)]) from None
    if not isinstance(raw, _Map):
        raise SubscriberConfigError([JobProblem(str(path), None, "subscribers", None, "the file must be a mapping")])
    config = reader.config(raw)
    if config is None:
        raise SubscriberConfigError(reader.report())  # type: ignore[arg-type]
    return config
