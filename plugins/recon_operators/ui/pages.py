"""What each page shows, gathered from the results store and Airflow's metadata for one viewer.

Every function takes the viewer and returns only rows whose DAG that viewer may read; a page
about one DAG's rows refuses (403) a viewer who may not read it. Text read from the store is
masked again here (``scrub``) before any template sees it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from recon_operators.engine.masking import scrub
from recon_operators.engine.scope import Scope
from recon_operators.store import ResultsStore, views
from recon_operators.store.views import Window
from recon_operators.ui import runs
from recon_operators.ui.catalog import DagCatalog
from recon_operators.ui.charts import Series, line_chart
from recon_operators.ui.matrix import (
    HOP_LABELS,
    HOPS,
    LOAD_HOPS,
    Counts,
    RunRef,
    cohort_keys,
    cohort_row,
    latest_decisions,
    scope_tree,
)
from recon_operators.ui.security import Viewer

BATCH_STAGE = "batch_load"  # batchload.audit.STAGE (that module pulls in the batch-load engine)
RECON_HOPS = tuple(h for h, _ in HOPS if h not in LOAD_HOPS)
CLAIMS_ERRORS = ("FAILED", "INVALID_FILE_COUNT", "INVALID_FILE")
_DIFF_COLUMNS = ("missing_in_new", "extra_in_new", "changed_rows", "duplicate_keys_old", "duplicate_keys_new")


@dataclass(frozen=True)
class Filters:
    env: str | None = None
    since: date | None = None
    until: date | None = None

    @property
    def window(self) -> Window:
        return Window(self.since, self.until)

    @property
    def scope(self) -> dict[str, str]:
        return {"env": self.env} if self.env else {}


def masked(value: Any) -> Any:
    """Stored text, masked again; numbers and None pass; dicts and lists become masked JSON text."""
    if value is None or isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(value, (dict, list)):
        return scrub(json.dumps(value, sort_keys=True, default=str))
    return scrub(str(value))


# -- overview ----------------------------------------------------------------------------------


def overview(store: ResultsStore, session: Session, viewer: Viewer, catalog: DagCatalog, filters: Filters) -> dict:
    counts = views.scope_counts(store.conn, filters.scope, filters.window)
    decisions = latest_decisions(views.gate_decisions(store.conn, filters.scope, filters.window, latest_only=True))
    by_cohort = cohort_keys(counts)
    for env, cohort_id in catalog.cohorts:  # configured cohorts that have no results yet are rows too
        if filters.env in (None, env):
            by_cohort.setdefault((env, cohort_id), [])
    cohorts = [
        row
        for (env, cohort_id), rows in sorted(by_cohort.items())
        if (row := _cohort(session, viewer, catalog, env, cohort_id, rows, decisions, filters)) is not None
    ]
    return {
        "cohorts": cohorts,
        "hops": HOPS,
        "batch_jobs": batch_jobs(store, viewer, catalog, counts),
        "claims": claims_days(store, viewer, catalog, filters),
        "envs": sorted({e for e, _ in by_cohort}),
    }


def _cohort(
    session: Session,
    viewer: Viewer,
    catalog: DagCatalog,
    env: str,
    cohort_id: str,
    rows: list[Mapping[str, Any]],
    decisions: Mapping[tuple[str, str, str], Any],
    filters: Filters,
) -> Any:
    dag_id = RunRef.parse(Counts.of(rows).last_run_id).dag_id or catalog.cohort_dag(env, cohort_id)
    if not viewer.can_read(dag_id):
        return None
    run = runs.newest_run(session, dag_id, filters.until) if dag_id else None
    states, awaiting = runs.hop_states(session, dag_id, run["run_id"]) if dag_id and run else ({}, {})
    own = {stage: d for (e, c, stage), d in decisions.items() if (e, c) == (env, cohort_id)}
    return cohort_row(env, cohort_id, rows, own, states, awaiting, dag_id=dag_id, dag_run=run)


def batch_jobs(store: ResultsStore, viewer: Viewer, catalog: DagCatalog, counts: Iterable[Mapping[str, Any]]) -> list:
    """Each batch-load job's newest run, with every check's status: the job's row."""
    newest: dict[tuple[str, str], Counts] = {}
    batch_of: dict[tuple[str, str], str] = {}
    for row in counts:
        if row.get("job") and row["stage"] == BATCH_STAGE:
            key = (row["env"], row["job"])
            if key not in newest or row["finished_at"] > newest[key].finished_at:
                newest[key], batch_of[key] = Counts().add(row), row["batch_id"]
    jobs = []
    for (env, job), job_counts in sorted(newest.items()):
        dag_id = catalog.batch_jobs.get(job)
        if not viewer.can_read(dag_id):
            continue
        checks = _checks_by_name(store.results(_batch_scope(env, job, batch_of[(env, job)])))
        jobs.append(
            {
                "env": env,
                "job": job,
                "dag_id": dag_id,
                "batch_id": batch_of[(env, job)],
                "counts": job_counts,
                "checks": checks,
            }
        )
    return jobs


def _batch_scope(env: str, job: str, batch_id: str) -> Scope:
    return Scope.from_mapping({"env": env, "job": job, "batch_id": batch_id, "stage": BATCH_STAGE})


def _checks_by_name(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One entry per check name (groups such as workers folded in), in first-seen order."""
    named: dict[str, Counts] = {}
    for row in rows:
        counts = named.setdefault(row["check_name"], Counts())
        counts.add(
            {
                "total": 1,
                "matched": row["status"] == "Match",
                "mismatched": row["status"] == "Mismatch",
                "errored": row["status"] == "Error",
            }
        )
    return [{"name": name, "counts": c} for name, c in named.items()]


def claims_days(
    store: ResultsStore, viewer: Viewer, catalog: DagCatalog, filters: Filters, **where: Any
) -> list[dict[str, Any]]:
    days = []
    for day in views.claims_days(store.conn, filters.window, **where):
        dag_id = catalog.claims.get(day["dataset"])
        if viewer.can_read(dag_id):
            days.append(
                {
                    **day,
                    "dag_id": dag_id,
                    "status_class": claims_status(day),
                    "error_message": masked(day["error_message"]),
                }
            )
    return days


def claims_status(day: Mapping[str, Any]) -> str:
    """A claims day in the view's vocabulary: differences are a Mismatch, a bad delivery an Error."""
    if day["status"] in CLAIMS_ERRORS:
        return "Error"
    if day["status"] != "SUCCESS":
        return "Missing"  # NO_FILES, RUNNING
    return "Mismatch" if any(day.get(c) for c in _DIFF_COLUMNS) else "Match"


# -- cohort and hop drill-down -------------------------------------------------------------------


def cohort(
    store: ResultsStore,
    session: Session,
    viewer: Viewer,
    catalog: DagCatalog,
    env: str,
    cohort_id: str,
    filters: Filters,
) -> dict:
    scope = Scope.from_mapping({"env": env, "cohort_id": cohort_id}).as_dict()
    counts = views.scope_counts(store.conn, scope, filters.window)
    decisions = views.gate_decisions(store.conn, scope, filters.window)
    row = _cohort(session, viewer, catalog, env, cohort_id, counts, latest_decisions(decisions), filters)
    if row is None:
        viewer.require(RunRef.parse(Counts.of(counts).last_run_id).dag_id or catalog.cohort_dag(env, cohort_id))
    return {
        "row": row,
        "tree": scope_tree(counts, row.dag_run_id if row else None),
        "recon_hops": RECON_HOPS,
        "decisions": [_decision(d) for d in decisions],
    }


def _decision(decision: Mapping[str, Any]) -> dict[str, Any]:
    ref = RunRef.of_decision(decision["run_id"], decision.get("gate_task"))
    return {
        **decision,
        "ref": ref,
        "scope_key": masked(decision["scope_key"]),
        "decided_by": masked(decision["decided_by"]),
    }


def hop(
    store: ResultsStore,
    session: Session,
    viewer: Viewer,
    catalog: DagCatalog,
    env: str,
    cohort_id: str,
    stage: str,
    prefix: str | None,
    batch_id: str | None,
) -> dict:
    scope = Scope.from_mapping(
        {"env": env, "cohort_id": cohort_id, "prefix": prefix, "batch_id": batch_id, "stage": stage}
    )
    rows = store.results(scope, with_children=True)
    cohort_scope = {"env": env, "cohort_id": cohort_id}
    dag_id = RunRef.parse(rows[0]["run_id"]).dag_id if rows else catalog.cohort_dag(env, cohort_id)
    viewer.require(dag_id)
    checks = sorted(
        (_check(r) for r in rows),
        key=lambda c: (c["status"] == "Match", c["prefix"] or "", c["batch_id"] or "", c["suite"], c["check_name"]),
    )
    tree = [
        line for line in scope_tree(views.scope_counts(store.conn, {**cohort_scope, "stage": stage})) if line["prefix"]
    ]
    decisions = views.gate_decisions(store.conn, {**cohort_scope, "stage": stage})
    awaiting: dict[str, str] = {}
    run = runs.newest_run(session, dag_id) if dag_id else None
    if dag_id and run:
        awaiting = runs.hop_states(session, dag_id, run["run_id"])[1]
    return {
        "stage": stage,
        "stage_label": HOP_LABELS.get(stage, stage),
        "prefix": prefix,
        "batch_id": batch_id,
        "checks": checks,
        "counts": Counts.of(
            {
                "total": 1,
                "matched": c["status"] == "Match",
                "mismatched": c["status"] == "Mismatch",
                "errored": c["status"] == "Error",
            }
            for c in checks
        ),
        "tree": tree,
        "decisions": [_decision(d) for d in decisions],
        "dag_id": dag_id,
        "run": run,
        "awaiting_task": awaiting.get(stage),
    }


def _check(row: Mapping[str, Any]) -> dict[str, Any]:
    details = dict(row.get("details") or {})
    normalisation = details.pop("normalisation", {}) or {}
    samples = details.pop("samples", []) or []
    return {
        **{
            k: masked(row.get(k))
            for k in ("suite", "check_name", "kind", "group_key", "expected", "actual", "message", "prefix", "batch_id")
        },
        "status": row["status"],
        "discrepancy": row.get("discrepancy"),
        "finished_at": row.get("finished_at"),
        "tolerance": " ".join(f"{k} {masked(v)}" for k, v in sorted((row.get("tolerance") or {}).items())),
        "normalisation": [
            {"column": masked(col), "source": masked(sides.get("source")), "target": masked(sides.get("target"))}
            for col, sides in sorted(normalisation.items())
        ],
        "samples": [masked(s) for s in samples],
        "details": masked(details) if details else "",
        "ref": RunRef.parse(row.get("run_id")),
    }


# -- trends --------------------------------------------------------------------------------------


def trends(
    store: ResultsStore,
    session: Session,
    viewer: Viewer,
    catalog: DagCatalog,
    env: str,
    cohort_id: str,
    stage: str | None,
    suite: str | None,
    check_name: str | None,
    group_key: str | None,
) -> dict:
    scope = Scope.from_mapping({"env": env, "cohort_id": cohort_id}).as_dict()
    rows = store.results(Scope.from_mapping({**scope, "stage": stage}), with_children=True)
    dag_id = RunRef.parse(rows[0]["run_id"]).dag_id if rows else catalog.cohort_dag(env, cohort_id)
    viewer.require(dag_id)
    choices = sorted(
        {
            (r["stage"], r["suite"], r["check_name"], r["group_key"] or "")
            for r in rows
            if r.get("discrepancy") is not None
        }
    )
    if check_name is None and choices:  # default: the check with the biggest discrepancy now
        worst = max((r for r in rows if r.get("discrepancy") is not None), key=lambda r: abs(r["discrepancy"]))
        stage, suite, check_name, group_key = worst["stage"], worst["suite"], worst["check_name"], worst["group_key"]
    charts = []
    if check_name:
        history = views.run_history(
            store.conn,
            {**scope, "stage": stage} if stage else scope,
            suite=suite,
            check_name=check_name,
            group_key=group_key or None,
        )
        label = masked(f"{suite}.{check_name}" + (f"[{group_key}]" if group_key else ""))
        charts.append(
            line_chart(
                f"Discrepancy of {label} per run",
                [h["dag_run_id"] for h in history],
                [Series(label, [h["discrepancy"] for h in history])],
                y_label="discrepancy",
            )
        )
    match_series, labels = _match_pct_series(store, scope)
    charts.append(
        line_chart(
            "Checks matched per run and hop (%)",
            labels,
            match_series,
            y_label="% matched",
            y_range=(0, 100),
            suffix="%",
        )
    )
    durations = runs.hop_durations(session, dag_id) if dag_id else []
    charts.append(
        line_chart(
            "Run duration per hop (seconds)",
            [run_id for run_id, _ in durations],
            [Series(label, [d.get(h) for _, d in durations]) for h, label in HOPS if any(h in d for _, d in durations)],
            y_label="seconds",
        )
    )
    return {
        "charts": charts,
        "choices": [tuple(masked(v) for v in c) for c in choices],
        "selected": (stage, masked(suite), masked(check_name), masked(group_key or "")),
        "dag_id": dag_id,
    }


def _match_pct_series(store: ResultsStore, scope: Mapping[str, str]) -> tuple[list[Series], list[str]]:
    per_hop = {
        h: {p["dag_run_id"]: p for p in views.run_history(store.conn, {**scope, "stage": h})} for h in RECON_HOPS
    }
    order: dict[str, Any] = {}
    for points in per_hop.values():
        for run_id, point in points.items():
            order[run_id] = min(order.get(run_id, point["started_at"]), point["started_at"])
    labels = sorted(order, key=lambda r: order[r])
    series = [
        Series(
            HOP_LABELS[h], [100.0 * points[r]["matched"] / points[r]["total"] if r in points else None for r in labels]
        )
        for h, points in per_hop.items()
        if points
    ]
    return series, labels


# -- batch-load jobs and claims days -------------------------------------------------------------


def batch_job(
    store: ResultsStore, viewer: Viewer, catalog: DagCatalog, env: str, job: str, batch_id: str | None
) -> dict:
    viewer.require(catalog.batch_jobs.get(job))
    counts = [r for r in views.scope_counts(store.conn, {"env": env, "job": job}) if r["stage"] == BATCH_STAGE]
    ordered = sorted(counts, key=lambda r: r["finished_at"], reverse=True)
    batch_id = batch_id or (ordered[0]["batch_id"] if ordered else None)
    rows = store.results(_batch_scope(env, job, batch_id)) if batch_id else []
    return {
        "env": env,
        "job": job,
        "dag_id": catalog.batch_jobs.get(job),
        "runs": ordered,
        "batch_id": batch_id,
        "checks": [_check(r) for r in rows],
    }


def claims_day(store: ResultsStore, viewer: Viewer, catalog: DagCatalog, dataset: str, run_date: date) -> dict:
    viewer.require(catalog.claims.get(dataset))
    days = claims_days(store, viewer, catalog, Filters(), dataset=dataset, run_date=run_date)
    day = days[0] if days else None
    columns = views.claims_columns(store.conn, day["run_id"]) if day else []
    samples = views.claims_samples(store.conn, day["run_id"]) if day else []
    return {
        "dataset": dataset,
        "run_date": run_date,
        "day": day,
        "columns": columns,
        "samples": [
            {"type": s["mismatch_type"], "key": masked(s["key_text"]), "payload": masked(s["payload"])} for s in samples
        ],
    }
