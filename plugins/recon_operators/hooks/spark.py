"""spark-submit mode: a suite runs as a Spark application on a cluster, through the Apache Spark
provider's ``SparkSubmitHook`` and its connection (master, deploy mode, spark-submit binary).

The application is ``engine/spark/job.py``; the job gets the sides' connections as
``AIRFLOW_CONN_*`` environment variables resolved here through Airflow's hooks, the package as
``--py-files`` (a zip of ``recon_operators``) and the session settings of ``engine.spark.session``
as ``--conf``; it writes its results to a file this task reads back.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from recon_operators.engine.results import CheckResult
from recon_operators.engine.spec import SuiteSpec

PACKAGE = Path(__file__).resolve().parents[1]


def _package_zip(folder: Path) -> Path:
    """recon_operators as a zip for ``--py-files`` (the executors import the engine from it)."""
    target = folder / "recon_operators.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in PACKAGE.rglob("*.py"):
            archive.write(path, str(path.relative_to(PACKAGE.parent)))
    return target


def _connection_env(suite: SuiteSpec) -> dict[str, str]:
    """AIRFLOW_CONN_<ID> for each side's connection id (URLs travel as they are)."""
    from airflow.sdk import BaseHook

    env = {}
    for side in (suite.source, suite.target):
        conn = side.connection
        if conn and "://" not in conn:
            env[f"AIRFLOW_CONN_{conn.upper()}"] = BaseHook.get_connection(conn).get_uri()
    return env


def submit_suite(
    suite: SuiteSpec, suite_path: Path, scope: Mapping[str, Any], *, conn_id: str, only: list[str] | None = None
) -> list[CheckResult]:
    """Run the suite by spark-submit on ``conn_id``'s cluster and return its results."""
    import json

    from airflow.providers.apache.spark.hooks.spark_submit import SparkSubmitHook

    from recon_operators.engine.spark.job import load_results
    from recon_operators.engine.spark.session import settings

    folder = Path(tempfile.mkdtemp(prefix="recon-spark-submit-"))
    try:
        results_path = folder / "results.json"
        conf = {k: v for k, v in settings().items() if k not in ("spark.master", "spark.app.name")}
        hook = SparkSubmitHook(
            conn_id=conn_id,
            conf=conf,
            py_files=str(_package_zip(folder)),
            name=f"recon-{suite.name}",
            env_vars=_connection_env(suite),
            application_args=[str(suite_path), json.dumps(dict(scope)), str(results_path), *(only or [])],
        )
        hook.submit(str(PACKAGE / "engine" / "spark" / "job.py"))
        return load_results(results_path.read_text())
    finally:
        shutil.rmtree(folder, ignore_errors=True)
