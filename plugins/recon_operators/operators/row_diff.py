"""RowDiffOperator: a keyed row diff for a templated scope, recorded in the ledger like a check.

The results (row counts, missing, extra, changed, duplicates, per-column mismatches, masked
samples) land in the store under ``diff_name`` as the suite, so ``build_gate(..., suite=...)``
and every gate policy judge a row diff exactly as they judge a check suite. As with
``ReconCheckOperator``, the task succeeds once the outcome is recorded (a side that cannot be
read is an ``Error`` result, never a pass); a malformed diff definition fails it without retry.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from recon_operators.connections import url_secrets
from recon_operators.engine.adapters.base import SourceError
from recon_operators.engine.results import utcnow
from recon_operators.engine.rowdiff import DiffSpec, run_diff
from recon_operators.engine.rowdiff.model import DEFAULT_SAMPLE
from recon_operators.engine.rowdiff.options import parse_tolerance, rules_from
from recon_operators.engine.rowdiff.results import diff_check_results, diff_error_result
from recon_operators.engine.scope import Scope
from recon_operators.errors import error_line
from recon_operators.hooks.results_store import ResultsStoreHook
from recon_operators.operators.recording import RecordingOperator


class RowDiffOperator(RecordingOperator):
    """Diff ``source`` and ``target`` by ``key``; scope values are bound into the filters.

    ``source``/``target``: dataset mappings or URLs (see ``engine.opener.dataset_side``). ``rules``:
    column -> rule text (``"decimal,scale:2"``) or ``ColumnRule`` fields; ``tolerances``: column ->
    ``"0.01"``/``"0.5%"``. Samples written to the store are always masked. ``output_path``: a .csv or
    .parquet path (local, or ``s3://`` through ``aws_conn_id``) that receives every difference,
    masked, next to the ledger results (its path is in the ``changed_rows`` result's details).
    """

    template_fields: Sequence[str] = (
        "source",
        "target",
        "key",
        "columns",
        "exclude",
        "scope",
        "stage",
        "diff_name",
        "store_conn_id",
        "output_path",
        "engine",
        "spark_master",
    )
    template_fields_renderers = {"scope": "json", "source": "json", "target": "json"}
    ui_color = "#e6eef8"

    def __init__(
        self,
        *,
        source: str | Mapping[str, Any],
        target: str | Mapping[str, Any],
        key: str | list[str],
        scope: dict[str, Any],
        diff_name: str,
        columns: list[str] | None = None,
        exclude: list[str] | None = None,
        rules: Mapping[str, Any] | None = None,
        source_rules: Mapping[str, Any] | None = None,
        target_rules: Mapping[str, Any] | None = None,
        tolerances: Mapping[str, str] | None = None,
        sample_limit: int = DEFAULT_SAMPLE,
        stage: str | None = None,
        process_name: str | None = None,
        output_path: str | None = None,
        aws_conn_id: str = "aws_default",
        store_conn_id: str = ResultsStoreHook.default_conn_name,
        engine: str | None = None,
        spark_master: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(store_conn_id=store_conn_id, **kwargs)
        self.engine, self.spark_master = engine, spark_master  # "spark": read and join both sides in Spark
        self.output_path, self.aws_conn_id = output_path, aws_conn_id
        self.source, self.target = source, target
        self.key = key
        self.columns, self.exclude = columns, exclude
        self.rules, self.source_rules, self.target_rules = rules, source_rules, target_rules
        self.tolerances = tolerances
        self.sample_limit = sample_limit
        self.scope, self.stage, self.diff_name = scope, stage, diff_name
        self.process_name = process_name

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        """After rendering, tell Airflow's masker the passwords the datasets' URLs hold, so the
        rendered fields (UI) and the task log show ``***`` (a run's conf can reach these fields)."""
        from airflow.sdk.log import mask_secret

        super().render_template_fields(context, jinja_env)
        for side in (self.source, self.target):
            for value in side.values() if isinstance(side, Mapping) else [side]:
                for secret in url_secrets(value) if isinstance(value, str) else ():
                    mask_secret(secret)

    def _spec(self) -> DiffSpec:
        key = tuple(k.strip() for k in self.key.split(",")) if isinstance(self.key, str) else tuple(self.key)
        return DiffSpec(
            key=key,
            columns=tuple(self.columns) if self.columns else None,
            exclude=tuple(self.exclude or ()),
            rules=rules_from(self.rules),
            source_rules=rules_from(self.source_rules),
            target_rules=rules_from(self.target_rules),
            tolerances={c: parse_tolerance(str(v)) for c, v in (self.tolerances or {}).items()},
            sample_limit=self.sample_limit,
            mask=True,
        )

    def _diff(self, scope: Scope) -> Any:
        """The diff's results, or one Error result when a side cannot be read."""
        from recon_operators.hooks.databases import open_dataset, s3_filesystem

        started, params, opened = utcnow(), scope.as_dict(), []
        spec = self._spec()
        try:
            if self.engine == "spark":
                from recon_operators.engine.spark.session import configure

                configure(self.spark_master)
            for side in (self.source, self.target):
                opened.append(open_dataset(side, params, engine=self.engine))
            filesystem = s3_filesystem(self.aws_conn_id) if (self.output_path or "").startswith("s3://") else None
            result = run_diff(spec, opened[0], opened[1], output=self.output_path, output_filesystem=filesystem)
        except SourceError as exc:
            described = [d.describe() for d in opened]
            return [diff_error_result(error_line(exc), *(described + [{}, {}])[:2], started)], None
        finally:
            for dataset in opened:
                dataset.close()
        results = diff_check_results(result, started)
        if self.output_path:
            next(r for r in results if r.check_name == "changed_rows").details["output"] = self.output_path
        return results, result

    def execute(self, context: Any) -> dict[str, Any]:
        values = dict(self.scope)
        values["stage"] = self.stage or values.get("stage")
        scope = Scope.from_mapping(values)
        with self.recording(context, scope, self.diff_name, process_name=self.process_name) as run:
            results, diff = self._diff(scope)
            run.record(results)
        if diff is None:
            self.say(f"row diff {self.diff_name} for {scope.key} could not run: {run.error}", logging.ERROR)
            return self.publish(context, run)
        self.say(
            f"row diff {self.diff_name} for {scope.key}: {diff.source_rows} source rows, "
            f"{diff.target_rows} target rows, {diff.missing_in_target} missing, "
            f"{diff.extra_in_target} extra, {diff.changed_rows} changed "
            f"{diff.column_mismatches} in {diff.seconds:.1f}s"
        )
        return self.publish(
            context, run, diff={k: v for k, v in diff.as_dict().items() if k not in ("samples", "source", "target")}
        )
