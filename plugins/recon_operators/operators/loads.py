"""Built-in load steps for demo cohorts: land synthetic sources, then move one batch per hop.

Production cohorts configure Glue jobs or other DAGs instead; these run the project's own
loaders so anyone can watch a migration (and a fault injected through the run's conf) end to end.
"""

from __future__ import annotations

import ast
import zlib
from contextlib import ExitStack, closing
from typing import Any, Sequence

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from recon_operators.engine.masking import scrub

HOPS = ("transform", "stage", "target")


def _open(connections: ExitStack, factory: Any, conn_id: str) -> Any:
    """A connection closed with ``connections``, even when a later one fails to open."""
    return connections.enter_context(closing(factory(conn_id)))


def _faults(raw: Any) -> list[Any]:
    """Faults from the run's conf; a templated ``{{ params.faults }}`` arrives as its text form."""
    from recon_operators.migration.loaders import Fault

    if isinstance(raw, str):
        raw = ast.literal_eval(raw.strip() or "[]")
    return Fault.from_conf(list(raw or []))


class LandDemoSourcesOperator(BaseOperator):
    """Generate the cohort's synthetic source extracts and land them in S3 (idempotent overwrite)."""

    template_fields: Sequence[str] = ("env",)

    def __init__(self, *, cohort: dict[str, Any], bucket: str, env: str, aws_conn_id: str = "aws_default",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cohort = cohort
        self.bucket = bucket
        self.env = env
        self.aws_conn_id = aws_conn_id

    def execute(self, context: Any) -> dict[str, int]:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        from recon_operators.hooks.databases import s3_filesystem
        from recon_operators.migration.generator import CohortSpec, generate, write_landing

        hook = S3Hook(aws_conn_id=self.aws_conn_id)
        if not hook.check_for_bucket(self.bucket):
            hook.create_bucket(self.bucket)
        seed = zlib.crc32(self.cohort["cohort_id"].encode())  # stable per cohort: reruns land the same files
        tables = generate(CohortSpec.from_mapping({**self.cohort, "seed": seed}))
        paths = write_landing(tables, filesystem=s3_filesystem(self.aws_conn_id),
                              base_path=f"s3://{self.bucket}/{self.env}", cohort_id=self.cohort["cohort_id"], fmt="csv")
        self.log.info("landed %d extracts for cohort %s under s3://%s/%s", len(paths), self.cohort["cohort_id"],
                      self.bucket, self.env)
        return {name: table.num_rows for name, table in tables.items()}


class BuiltinLoadOperator(BaseOperator):
    """Move one batch across one hop (transform | stage | target) with the built-in loaders."""

    template_fields: Sequence[str] = ("scope", "faults")
    template_fields_renderers = {"scope": "json", "faults": "json"}

    def __init__(self, *, hop: str, scope: dict[str, str], bucket: str, faults: Any = None,
                 transform_conn_id: str, stage_conn_id: str, target_conn_id: str, aws_conn_id: str = "aws_default",
                 **kwargs: Any) -> None:
        if hop not in HOPS:
            raise ValueError(f"hop must be one of {HOPS}, not {hop!r}")
        super().__init__(**kwargs)
        self.hop = hop
        self.scope = scope
        self.bucket = bucket
        self.faults = faults
        self.transform_conn_id = transform_conn_id
        self.stage_conn_id = stage_conn_id
        self.target_conn_id = target_conn_id
        self.aws_conn_id = aws_conn_id

    def execute(self, context: Any) -> dict[str, Any]:
        from recon_operators.hooks.databases import mysql_connection, postgres_connection
        from recon_operators.migration import loaders

        scope = self.scope
        batch = loaders.BatchRange(scope["batch_id"], scope["msisdn_start"], scope["msisdn_end"])
        try:
            faults = _faults(self.faults)
        except (ValueError, SyntaxError) as exc:  # the run's conf is wrong: retrying cannot fix it
            raise AirflowFailException(f"faults in the run's conf: {exc}") from None
        injected: list[dict[str, Any]] = []
        common = {"cohort_id": scope["cohort_id"], "batch": batch, "faults": faults, "injected": injected}
        with ExitStack() as connections:
            def open_(factory: Any, conn_id: str) -> Any:
                return _open(connections, factory, conn_id)

            if self.hop == "transform":
                from recon_operators.hooks.databases import s3_filesystem

                written = loaders.load_transform(landing_fs=s3_filesystem(self.aws_conn_id),
                                                 landing_base=f"s3://{self.bucket}/{scope['env']}",
                                                 pg_conn=open_(postgres_connection, self.transform_conn_id), **common)
            elif self.hop == "stage":
                written = loaders.load_stage(pg_conn=open_(postgres_connection, self.transform_conn_id),
                                             mysql_conn=open_(mysql_connection, self.stage_conn_id), **common)
            else:
                written = loaders.load_target(mysql_conn=open_(mysql_connection, self.stage_conn_id),
                                              target_conn=open_(postgres_connection, self.target_conn_id), **common)
        for fault in injected:
            self.log.warning("%s", scrub(f"fault injected at {self.hop}: {fault.get('kind')} {fault.get('dataset')} "
                                         f"x{len(fault.get('keys', []))}"))
        return {"hop": self.hop, "batch_id": batch.batch_id, "rows": written,
                "faults": [{k: v for k, v in f.items() if k != "keys"} for f in injected]}


class PrepareLayersOperator(BaseOperator):
    """Create the Transformation, Stage and Target tables the built-in loads write, once per run,
    before the batches load in parallel (DDL inside a batch's transaction deadlocked them)."""

    def __init__(self, *, transform_conn_id: str, stage_conn_id: str, target_conn_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.transform_conn_id = transform_conn_id
        self.stage_conn_id = stage_conn_id
        self.target_conn_id = target_conn_id

    def execute(self, context: Any) -> dict[str, list[str]]:
        from recon_operators.hooks.databases import mysql_connection, postgres_connection
        from recon_operators.migration import loaders

        with ExitStack() as connections:
            created = loaders.prepare_layers(
                transform_conn=_open(connections, postgres_connection, self.transform_conn_id),
                stage_conn=_open(connections, mysql_connection, self.stage_conn_id),
                target_conn=_open(connections, postgres_connection, self.target_conn_id))
        for layer, tables in created.items():
            self.log.info("%s: %s", layer, f"created {', '.join(tables)}" if tables else "every table in place")
        return created
