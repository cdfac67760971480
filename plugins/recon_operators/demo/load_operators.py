"""The demo's Airflow steps: built-in cohort loads and the batch load's fault drill.

Production cohorts configure Glue jobs or other DAGs instead; these run the demo's own loaders so
anyone can watch a migration (and a fault injected through the run's conf) end to end. The
factories never import this module: a DAG file hands ``DEMO_LOADS`` (cohorts whose load kind is
``builtin``) or ``BATCH_DRILL`` (batch load DAGs taking a ``faults`` param) to them.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from contextlib import ExitStack, closing
from typing import Any

from airflow.sdk import BaseOperator, Param
from airflow.sdk.exceptions import AirflowFailException

from recon_operators.engine.masking import scrub
from recon_operators.operators.batch_load import BatchMergeOperator, BatchWorkerOperator

HOPS = ("transform", "stage", "target")


def _open(connections: ExitStack, factory: Any, conn_id: str) -> Any:
    """A connection closed with ``connections``, even when a later one fails to open."""
    return connections.enter_context(closing(factory(conn_id)))


def _faults(raw: Any) -> list[Any]:
    """Faults from the run's conf; a templated ``{{ params.faults }}`` arrives as its text form."""
    from recon_operators.demo.faults import Fault

    return Fault.from_conf(raw)


class LandDemoSourcesOperator(BaseOperator):
    """Generate the cohort's synthetic source extracts and land them in S3 (idempotent overwrite)."""

    template_fields: Sequence[str] = ("env",)

    def __init__(
        self, *, cohort: dict[str, Any], bucket: str, env: str, aws_conn_id: str = "aws_default", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.cohort = cohort
        self.bucket = bucket
        self.env = env
        self.aws_conn_id = aws_conn_id

    def execute(self, context: Any) -> dict[str, int]:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        from recon_operators.demo.generator import CohortSpec, generate, write_landing
        from recon_operators.hooks.databases import s3_filesystem

        hook = S3Hook(aws_conn_id=self.aws_conn_id)
        if not hook.check_for_bucket(self.bucket):
            hook.create_bucket(self.bucket)
        seed = zlib.crc32(self.cohort["cohort_id"].encode())  # stable per cohort: reruns land the same files
        tables = generate(CohortSpec.from_mapping({**self.cohort, "seed": seed}))
        paths = write_landing(
            tables,
            filesystem=s3_filesystem(self.aws_conn_id),
            base_path=f"s3://{self.bucket}/{self.env}",
            cohort_id=self.cohort["cohort_id"],
            fmt="csv",
        )
        self.log.info(
            "landed %d extracts for cohort %s under s3://%s/%s",
            len(paths),
            self.cohort["cohort_id"],
            self.bucket,
            self.env,
        )
        return {name: table.num_rows for name, table in tables.items()}


class BuiltinLoadOperator(BaseOperator):
    """Move one batch across one hop (transform | stage | target) with the built-in loaders."""

    template_fields: Sequence[str] = ("scope", "faults")
    template_fields_renderers = {"scope": "json", "faults": "json"}

    def __init__(
        self,
        *,
        hop: str,
        scope: dict[str, str],
        bucket: str,
        faults: Any = None,
        transform_conn_id: str,
        stage_conn_id: str,
        target_conn_id: str,
        aws_conn_id: str = "aws_default",
        **kwargs: Any,
    ) -> None:
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
        from recon_operators.demo import loaders
        from recon_operators.demo.faults import with_faults
        from recon_operators.hooks.databases import mysql_connection, postgres_connection
        from recon_operators.migration.landing import BatchRange

        scope = self.scope
        batch = BatchRange.of_scope(scope)
        try:
            faults = _faults(self.faults)
        except ValueError as exc:  # the run's conf is wrong: retrying cannot fix it
            raise AirflowFailException(f"faults in the run's conf: {exc}") from None
        injected: list[dict[str, Any]] = []
        common = {"cohort_id": scope["cohort_id"], "batch": batch}
        with ExitStack() as connections:

            def open_(factory: Any, conn_id: str) -> Any:
                return _open(connections, factory, conn_id)

            if self.hop == "transform":
                from recon_operators.hooks.databases import s3_filesystem

                written = with_faults(loaders.load_transform, faults, injected)(
                    landing_fs=s3_filesystem(self.aws_conn_id),
                    landing_base=f"s3://{self.bucket}/{scope['env']}",
                    pg_conn=open_(postgres_connection, self.transform_conn_id),
                    **common,
                )
            elif self.hop == "stage":
                written = with_faults(loaders.load_stage, faults, injected)(
                    pg_conn=open_(postgres_connection, self.transform_conn_id),
                    mysql_conn=open_(mysql_connection, self.stage_conn_id),
                    **common,
                )
            else:
                written = with_faults(loaders.load_target, faults, injected)(
                    mysql_conn=open_(mysql_connection, self.stage_conn_id),
                    target_conn=open_(postgres_connection, self.target_conn_id),
                    **common,
                )
        for fault in injected:
            self.log.warning(
                "%s",
                scrub(
                    f"fault injected at {self.hop}: {fault.get('kind')} {fault.get('dataset')} "
                    f"x{len(fault.get('keys', []))}"
                ),
            )
        return {
            "hop": self.hop,
            "batch_id": batch.batch_id,
            "rows": written,
            "faults": [{k: v for k, v in f.items() if k != "keys"} for f in injected],
        }


class PrepareLayersOperator(BaseOperator):
    """Create the Transformation, Stage and Target tables the built-in loads write, once per run,
    before the batches load in parallel (DDL inside a batch's transaction deadlocked them)."""

    def __init__(self, *, transform_conn_id: str, stage_conn_id: str, target_conn_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.transform_conn_id = transform_conn_id
        self.stage_conn_id = stage_conn_id
        self.target_conn_id = target_conn_id

    def execute(self, context: Any) -> dict[str, list[str]]:
        from recon_operators.demo import loaders
        from recon_operators.hooks.databases import mysql_connection, postgres_connection

        with ExitStack() as connections:
            created = loaders.prepare_layers(
                transform_conn=_open(connections, postgres_connection, self.transform_conn_id),
                stage_conn=_open(connections, mysql_connection, self.stage_conn_id),
                target_conn=_open(connections, postgres_connection, self.target_conn_id),
            )
        for layer, tables in created.items():
            self.log.info("%s: %s", layer, f"created {', '.join(tables)}" if tables else "every table in place")
        return created


# --------------------------------------------------------------------------- cohort load steps

HOP_OF = {"transform": "transform", "stage": "stage", "target": "target"}
COHORT_FAULTS_HELP = 'faults to inject, e.g. [{"stage": "stage", "kind": "drop", "dataset": "subscribers", "n": 3}]'


class DemoLoads:
    """What the cohort factory builds for ``load: {kind: builtin}``: land the synthetic extracts,
    create the layer tables once, then the mapped built-in load per hop (faults from the run's conf)."""

    params = {"faults": Param([], type="array", description=COHORT_FAULTS_HELP)}

    def before_loads(self, cohort: Any) -> list[Any]:
        """Creating tables inside each batch's transaction deadlocked batches loading at once."""
        connections = cohort.connections
        tasks: list[Any] = [
            PrepareLayersOperator(
                task_id="prepare_layers",
                transform_conn_id=connections.transform_pg,
                stage_conn_id=connections.stage_mysql,
                target_conn_id=connections.target,
            )
        ]
        if cohort.landing:
            tasks.append(
                LandDemoSourcesOperator(
                    task_id="land_demo_sources",
                    bucket=cohort.landing.bucket,
                    env=cohort.env,
                    aws_conn_id=connections.aws,
                    cohort={
                        "cohort_id": cohort.cohort_id,
                        "prefixes": [
                            {
                                "prefix_id": p.prefix_id,
                                "prefix": p.prefix,
                                "batches": [
                                    {"batch_id": b.batch_id, "msisdn_start": b.msisdn_start, "msisdn_end": b.msisdn_end}
                                    for b in p.batches
                                ],
                            }
                            for p in cohort.prefixes
                        ],
                    },
                )
            )
        return tasks

    def load(self, cohort: Any, stage: Any, scopes: Any) -> Any:
        bucket = cohort.landing.bucket if cohort.landing else ""
        return BuiltinLoadOperator.partial(
            task_id=f"load_{stage.name}",
            hop=HOP_OF[stage.name],
            bucket=bucket,
            faults="{{ params.faults }}",
            transform_conn_id=cohort.connections.transform_pg,
            stage_conn_id=cohort.connections.stage_mysql,
            target_conn_id=cohort.connections.target,
            aws_conn_id=cohort.connections.aws,
        ).expand(scope=scopes)


DEMO_LOADS = DemoLoads()


# ------------------------------------------------------------------------- batch load drill

BATCH_FAULTS_HELP = (
    'faults to inject (tests, drills), e.g. [{"kind": "drop_rows", "worker": "w02", "n": 2}], '
    '[{"kind": "shift_amount", "worker": "w01", "delta": "0.01"}], '
    '[{"kind": "merge_loses_rows", "n": 3}]'
)


def _batch_faults(raw: Any) -> list[Any]:
    from recon_operators.demo.faults import parse_faults

    try:
        return parse_faults(raw)
    except ValueError as exc:  # the run's conf is wrong: retrying cannot fix it
        raise AirflowFailException(scrub(f"faults in the run's conf: {exc}")) from None


class DrillBatchWorkerOperator(BatchWorkerOperator):
    """The real worker, then its declared faults applied to the staging rows it just wrote."""

    template_fields: Sequence[str] = (*BatchWorkerOperator.template_fields, "faults")

    def __init__(self, *, faults: Any = "{{ params.faults }}", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.faults = faults

    def execute(self, context: Any) -> dict[str, Any]:
        from recon_operators.demo.faults import after_worker

        faults = _batch_faults(self.faults)
        metrics = super().execute(context)
        job = self.job()
        with self.target(job) as conn:
            after_worker(conn, job.tables, job.layout, self.batch_run_id, metrics["worker_id"], faults)
        return metrics


class DrillBatchMergeOperator(BatchMergeOperator):
    """The real MERGE, then its declared faults applied to the final rows it just upserted."""

    template_fields: Sequence[str] = (*BatchMergeOperator.template_fields, "faults")

    def __init__(self, *, faults: Any = "{{ params.faults }}", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.faults = faults

    def execute(self, context: Any) -> int:
        from recon_operators.demo.faults import after_merge

        faults = _batch_faults(self.faults)
        merged = super().execute(context)
        job = self.job()
        with self.target(job) as conn:
            after_merge(conn, job.tables, job.layout, self.batch_run_id, faults)
        return merged


BATCH_DRILL = {
    "worker_operator": DrillBatchWorkerOperator,
    "merge_operator": DrillBatchMergeOperator,
    "params": {"faults": Param([], type="array", description=BATCH_FAULTS_HELP)},
}
