"""The view's FastAPI app, mounted by the api-server under ``/recon``: server-rendered pages.

Every route depends on ``ViewerDep`` (Airflow's own authentication, DAG read access) and opens
the results store through the ``recon_store`` connection for that request only. Anonymous
requests get 401, with a link to the login page when a browser asked for HTML.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from airflow.api_fastapi.app import API_ROOT_PATH, get_auth_manager
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.configuration import conf
from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from recon_operators.engine.scope import ScopeError
from recon_operators.errors import one_line
from recon_operators.store import ResultsStore, StoreError
from recon_operators.ui import pages
from recon_operators.ui.catalog import load_catalog
from recon_operators.ui.matrix import HOP_LABELS, RunRef
from recon_operators.ui.security import Viewer, ViewerDep

URL_PREFIX = "/recon"
STORE_CONN_ID = conf.get("recon", "store_conn_id", fallback="recon_store")

app = FastAPI(title="Reconciliation view", docs_url=None, redoc_url=None, openapi_url=None)
templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def store() -> Iterator[ResultsStore]:
    """The results store for one request, closed after it (the hook resolves ``recon_store``)."""
    from recon_operators.hooks.results_store import ResultsStoreHook

    with closing(ResultsStoreHook(STORE_CONN_ID).get_store()) as opened:
        yield opened


# -- links into Airflow's own UI ------------------------------------------------------------------


def airflow_url(*parts: str) -> str:
    return API_ROOT_PATH + "/".join(quote(str(p), safe="") for p in parts)


def run_url(dag_id: str | None, run_id: str | None) -> str | None:
    return airflow_url("dags", dag_id, "runs", run_id) if dag_id and run_id else None


def task_url(ref: RunRef) -> str | None:
    if not (ref.dag_id and ref.dag_run_id and ref.task_id):
        return None
    url = airflow_url("dags", ref.dag_id, "runs", ref.dag_run_id, "tasks", ref.task_id)
    return url + (f"/mapped/{ref.map_index}" if ref.map_index is not None else "")


def approval_url(dag_id: str | None, run_id: str | None, task_id: str | None) -> str | None:
    return (
        airflow_url("dags", dag_id, "runs", run_id, "tasks", task_id, "required_actions")
        if dag_id and run_id and task_id
        else None
    )


def render(request: Request, template: str, code: int = 200, **context: Any) -> HTMLResponse:
    base = str(request.scope.get("root_path", "")).rstrip("/") or URL_PREFIX

    def page(path: str, **query: Any) -> str:
        kept = {k: v for k, v in query.items() if v not in (None, "")}
        return f"{base}/{path.lstrip('/')}" + (f"?{urlencode(kept)}" if kept else "")

    html = templates.get_template(template).render(
        page=page,
        airflow_url=airflow_url,
        run_url=run_url,
        task_url=task_url,
        approval_url=approval_url,
        hop_labels=HOP_LABELS,
        quote=lambda v: quote(str(v), safe=""),
        **context,
    )
    return HTMLResponse(html, status_code=code)


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "") and not request.url.path.endswith(".json")


def _refusal(request: Request, code: int, detail: Any) -> Any:
    """JSON for scripts; for a browser a short page, with the login link when nobody is logged in."""
    if not _wants_html(request):
        return JSONResponse({"detail": detail}, status_code=code)
    login = (
        get_auth_manager().get_url_login(next_url=str(request.url)) if code == status.HTTP_401_UNAUTHORIZED else None
    )
    return render(request, "error.html", code, title=str(code), message=detail, login=login, user=None)


@app.exception_handler(HTTPException)
async def refused(request: Request, exc: HTTPException) -> Any:
    return _refusal(request, exc.status_code, exc.detail)


@app.exception_handler(RequestValidationError)
async def bad_request(request: Request, exc: RequestValidationError) -> Any:
    problem = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
    return _refusal(request, status.HTTP_400_BAD_REQUEST, f"bad request: {problem}")


def _guarded(call: Any) -> Any:
    """Bad scope values and an unreachable store become one clear line, never a traceback."""
    try:
        return call()
    except ScopeError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, one_line(exc)) from None
    except StoreError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, one_line(exc)) from None


StoreDep = Depends(store)


# -- pages ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    """The overview matrix for the viewer and the filters it was read with."""

    filters: pages.Filters
    data: dict[str, Any]


def overview(
    viewer: ViewerDep,
    session: SessionDep,
    results: ResultsStore = StoreDep,
    env: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> Overview:
    """One read for the page and its JSON twin, so both always show the same matrix."""
    filters = pages.Filters(env or None, since, until)
    return Overview(filters, _guarded(lambda: pages.overview(results, session, viewer, load_catalog(), filters)))


OverviewDep = Annotated[Overview, Depends(overview)]


@app.get("/", response_class=HTMLResponse)
def overview_page(request: Request, viewer: ViewerDep, view: OverviewDep) -> HTMLResponse:
    return render(request, "overview.html", user=viewer.name, filters=view.filters, **view.data)


@app.get("/overview.json")
def overview_json(view: OverviewDep) -> dict[str, Any]:
    """The matrix for scripts: one entry per cohort with each hop's status and failed checks."""
    data = view.data
    return {
        "cohorts": [
            {
                "env": r.env,
                "cohort_id": r.cohort_id,
                "dag_id": r.dag_id,
                "dag_run_id": r.dag_run_id,
                "hops": {
                    c.hop: {"status": c.status, "label": c.label, "failed": c.failed, "total": c.total} for c in r.cells
                },
            }
            for r in data["cohorts"]
        ],
        "batch_jobs": [
            {
                "env": j["env"],
                "job": j["job"],
                "batch_id": j["batch_id"],
                "status": j["counts"].status,
                "failed": j["counts"].failed,
            }
            for j in data["batch_jobs"]
        ],
        "claims": [
            {"dataset": d["dataset"], "run_date": d["run_date"].isoformat(), "status": d["status_class"]}
            for d in data["claims"]
        ],
    }


@dataclass(frozen=True)
class CohortView:
    """What every cohort page is scoped by and renders with, resolved once per request."""

    request: Request
    env: str
    cohort_id: str
    viewer: Viewer
    session: Any  # the Airflow metadata DB session
    results: ResultsStore

    def page(self, template: str, build: Callable[..., dict[str, Any]], *args: Any) -> HTMLResponse:
        """``build(store, session, viewer, catalog, env, cohort_id, *args)`` rendered into ``template``."""
        data = _guarded(
            lambda: build(self.results, self.session, self.viewer, load_catalog(), self.env, self.cohort_id, *args)
        )
        return render(self.request, template, user=self.viewer.name, env=self.env, cohort_id=self.cohort_id, **data)


def cohort_view(
    request: Request, env: str, cohort_id: str, viewer: ViewerDep, session: SessionDep, results: ResultsStore = StoreDep
) -> CohortView:
    return CohortView(request, env, cohort_id, viewer, session, results)


CohortDep = Annotated[CohortView, Depends(cohort_view)]


@app.get("/cohorts/{env}/{cohort_id}", response_class=HTMLResponse)
def cohort_page(view: CohortDep, since: date | None = None, until: date | None = None) -> HTMLResponse:
    return view.page("cohort.html", pages.cohort, pages.Filters(view.env, since, until))


@app.get("/cohorts/{env}/{cohort_id}/hops/{stage}", response_class=HTMLResponse)
def hop_page(view: CohortDep, stage: str, prefix: str | None = None, batch_id: str | None = None) -> HTMLResponse:
    return view.page("hop.html", pages.hop, stage, prefix or None, batch_id or None)


@app.get("/cohorts/{env}/{cohort_id}/trends", response_class=HTMLResponse)
def trends_page(
    view: CohortDep,
    stage: str | None = None,
    suite: str | None = None,
    check: str | None = None,
    group: str | None = None,
) -> HTMLResponse:
    return view.page("trends.html", pages.trends, stage or None, suite or None, check or None, group or None)


@app.get("/batch-jobs/{env}/{job}", response_class=HTMLResponse)
def batch_job_page(
    request: Request,
    env: str,
    job: str,
    viewer: ViewerDep,
    results: ResultsStore = StoreDep,
    batch_id: str | None = None,
) -> HTMLResponse:
    data = _guarded(lambda: pages.batch_job(results, viewer, load_catalog(), env, job, batch_id or None))
    return render(request, "batch_job.html", user=viewer.name, **data)


@app.get("/claims/{dataset}/{run_date}", response_class=HTMLResponse)
def claims_page(
    request: Request, dataset: str, run_date: date, viewer: ViewerDep, results: ResultsStore = StoreDep
) -> HTMLResponse:
    data = _guarded(lambda: pages.claims_day(results, viewer, load_catalog(), dataset, run_date))
    return render(request, "claims_day.html", user=viewer.name, **data)
