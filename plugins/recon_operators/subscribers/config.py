"""Subscriber job config (include/config/subscribers/jobs.yaml), validated before any DAG is built.

Loading reads only the YAML (no database, no AWS), as the other DAG configs do, and reports
every problem at once, one line each, naming file, line and field::

    jobs.yaml line 14: job 'subscribers', field jobs.export.format: must be one of csv, parquet, got 'xls'

S3 layout under ``s3.bucket`` / ``s3.prefix`` (default ``subscribers/``), per job type::

    <prefix><type>/incoming/*.csv          files land here (migration, bulk_delete)
    <prefix><type>/jobs/<job_id>/...       the claimed input, its rejects file, outputs
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import ClassVar, Literal

from croniter import croniter
from pydantic import Field, field_validator

from recon_operators.config import ConfigError, ConfigModel, load_config
from recon_operators.config.dags import Alerts
from recon_operators.config.fields import SCHEDULE_PRESETS, Bucket, ConnId, Positive, Text, matching
from recon_operators.paths import config_dir
from recon_operators.subscribers.provisioning import Mode

JOB_TYPES = ("migration", "bulk_delete", "audit", "export")
FILE_JOBS = ("migration", "bulk_delete")
DAG_ID_PREFIX = "subscriber_"
CONTINUOUS = "@continuous"


class _Job(ConfigModel):
    """What every job type's DAG takes: schedule and governance (timeout, retries with backoff)."""

    file_job: ClassVar[bool] = False
    schedule: str | None = Field(
        None,
        description=f"a 5-field cron, {', '.join(SCHEDULE_PRESETS)}, "
        f"{CONTINUOUS} (file jobs) or empty for on-demand runs",
    )
    timeout_minutes: Positive = 60
    retries: int = Field(2, ge=0, le=10)
    retry_delay_seconds: Positive = Field(30, description="doubled at each retry")

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        if value == CONTINUOUS and not cls.file_job:
            raise ValueError(f"{CONTINUOUS} suits only file jobs (their runs wait for a landed file)")
        if (
            value is not None
            and value != CONTINUOUS
            and value not in SCHEDULE_PRESETS
            and not (croniter.is_valid(value) and len(value.split()) == 5)
        ):
            raise ValueError(f"{value!r} is not a valid cron expression (5 fields, e.g. '0 2 * * *', or @daily...)")
        return value


class _FileJob(_Job):
    file_job: ClassVar[bool] = True
    chunk_size: int = Field(5000, ge=1, le=100_000, description="rows per mapped load task")
    landing_timeout_minutes: Positive = Field(720, description="how long a run waits for a landed file")


class MigrationJob(_FileJob):
    """Subscribers from landed CSV files into Cloud and/or Legacy (by provisioning mode)."""


class BulkDeleteJob(_FileJob):
    """Subscribers named in landed CSV files deleted (soft: status DELETED; hard: rows removed)."""

    delete: Literal["soft", "hard"] = "soft"


class AuditJob(_Job):
    """Cloud vs Legacy with the keyed row diff; the verdict gates (an audit has nothing to stop)."""

    timeout_minutes: Positive = 30
    gate: Literal["fail", "warn"] = Field("warn", description="when Cloud and Legacy differ")
    mismatch_limit: int = Field(1_000_000, ge=1, le=10_000_000, description="mismatches listed in the S3 report")


class ExportJob(_Job):
    """Subscribers exported to S3 with a pre-signed URL (filters in the run's conf)."""

    timeout_minutes: Positive = 40
    format: Literal["csv", "parquet"] = "csv"
    url_expiry_minutes: Positive = 60


class Jobs(ConfigModel):
    migration: MigrationJob = MigrationJob()
    bulk_delete: BulkDeleteJob = BulkDeleteJob()
    audit: AuditJob = AuditJob()
    export: ExportJob = ExportJob()


class Provisioning(ConfigModel):
    default_mode: Literal[tuple(m.value for m in Mode)]  # type: ignore[valid-type]
    variable: matching(r"^[A-Za-z0-9_.-]{1,250}$", "an Airflow Variable key") = Field(  # type: ignore[valid-type]
        "subscriber_provisioning_mode", description="an Airflow Variable overriding default_mode"
    )


class Connections(ConfigModel):
    store: ConnId = "recon_store"
    legacy: ConnId = Field(description="the Legacy MariaDB/MySQL database")
    aws: ConnId = Field("aws_default", description="DynamoDB (Cloud) and S3")


class Cloud(ConfigModel):
    table: matching(r"^[A-Za-z0-9_.-]{3,255}$", "a DynamoDB table name (A-Z a-z 0-9 _ . -, 3-255)")  # type: ignore
    scan_segments: int = Field(4, ge=1, le=64, description="parallel Scan segments for audits and exports")


class S3(ConfigModel):
    bucket: Bucket
    prefix: matching(r"^([A-Za-z0-9_.=-]+/)*$", "a folder like 'subscribers/'") = "subscribers/"  # type: ignore


class SubscribersFile(ConfigModel):
    """include/config/subscribers/jobs.yaml: one DAG per subscriber job type."""

    env: matching(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", "letters, digits, _ . - (max 64)")  # type: ignore
    owner: Text
    dag_id_prefix: matching(r"^subscriber_[a-z0-9_]*$", "subscriber_ then lower-case letters, digits, _") = (  # type: ignore
        DAG_ID_PREFIX
    )
    provisioning: Provisioning
    connections: Connections
    cloud: Cloud
    s3: S3
    alerts: Alerts = Alerts()
    jobs: Jobs = Jobs()


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
    alerts: Alerts
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
    """The subscriber job config is invalid; ``problems`` holds each one, located."""

    kind = "subscriber job config"


def _settings(job_type: str, job: _Job) -> JobSettings:
    extra = job.model_dump(exclude=set(_Job.model_fields) | {"landing_timeout_minutes", "url_expiry_minutes"})
    if isinstance(job, _FileJob):
        extra["landing_timeout"] = timedelta(minutes=job.landing_timeout_minutes)
    if isinstance(job, ExportJob):
        extra["url_expiry"] = timedelta(minutes=job.url_expiry_minutes)
    return JobSettings(
        job_type=job_type,
        schedule=job.schedule,
        timeout=timedelta(minutes=job.timeout_minutes),
        retries=job.retries,
        retry_delay=timedelta(seconds=job.retry_delay_seconds),
        **extra,
    )


def _config(path: Path, parsed: SubscribersFile) -> SubscriberConfig:
    return SubscriberConfig(
        env=parsed.env,
        owner=parsed.owner,
        dag_id_prefix=parsed.dag_id_prefix,
        default_mode=parsed.provisioning.default_mode,
        mode_variable=parsed.provisioning.variable,
        store_conn_id=parsed.connections.store,
        legacy_conn_id=parsed.connections.legacy,
        aws_conn_id=parsed.connections.aws,
        cloud_table=parsed.cloud.table,
        scan_segments=parsed.cloud.scan_segments,
        bucket=parsed.s3.bucket,
        prefix=parsed.s3.prefix,
        alerts=parsed.alerts,
        path=str(path),
        jobs={t: _settings(t, getattr(parsed.jobs, t)) for t in JOB_TYPES},
    )


def default_path() -> Path:
    return config_dir() / "subscribers" / "jobs.yaml"


def load_subscriber_config(path: str | Path | None = None) -> SubscriberConfig:
    """Load and validate the config; raises ``SubscriberConfigError`` listing every problem."""
    path = Path(path) if path is not None else default_path()
    return load_config(
        SubscribersFile, path, "subscriber job config", build=lambda p: _config(path, p), error=SubscriberConfigError
    )
