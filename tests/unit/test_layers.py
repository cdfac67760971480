"""The layering the README draws (its "Layers" section): the engine, the store and the CLI never import Airflow."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

AIRFLOW_FREE = [
    "recon_operators.engine.spec",
    "recon_operators.engine.runner",
    "recon_operators.engine.opener",
    "recon_operators.engine.logical_types",
    "recon_operators.engine.canonical",
    "recon_operators.engine.dialects",
    "recon_operators.engine.workspace",
    "recon_operators.engine.adapters.registry",
    "recon_operators.engine.adapters.postgres",
    "recon_operators.engine.adapters.mysql",
    "recon_operators.engine.adapters.mongo",
    "recon_operators.engine.adapters.files",
    "recon_operators.engine.adapters.spark",
    "recon_operators.engine.spark.session",
    "recon_operators.engine.spark.dialect",
    "recon_operators.engine.spark.reader",
    "recon_operators.engine.spark.diff",
    "recon_operators.engine.spark.job",
    "recon_operators.engine.masking",
    "recon_operators.yaml_lines",
    "recon_operators.errors",
    "recon_operators.connections",
    "recon_operators.store",
    "recon_operators.cli",
    "recon_operators.diff_cli",
    "recon_operators.engine.rowdiff",
    "recon_operators.engine.rowdiff.output",
    "recon_operators.engine.rowdiff.options",
    "recon_operators.engine.rowdiff.results",
    "recon_operators.bench.run",
    "recon_operators.bench.spark",
    "recon_operators.report",
    "recon_operators.notifiers.alerts",
    "recon_operators.migration.report_config",
    "recon_operators.migration.layer_measure",
    "recon_operators.migration.mr2_reports",
    "recon_operators.migration.mr3_reports",
    "recon_operators.migration.overall_report",
    "recon_operators.migration.etl_stage_report",
    "recon_operators.demo.loaders",
    "recon_operators.demo.layer_tables",
    "recon_operators.engine.fingerprint",
    "recon_operators.batchload.layout",
    "recon_operators.batchload.source",
    "recon_operators.batchload.staging",
    "recon_operators.batchload.worker",
    "recon_operators.batchload.reconcile",
    "recon_operators.batchload.audit",
    "recon_operators.config.batch_jobs",
    "recon_operators.store.views",
    "recon_operators.ui.matrix",
    "recon_operators.ui.charts",
    "recon_operators.ui.catalog",
    "recon_operators.retry",
    "recon_operators.engine.adapters.dynamodb",
    "recon_operators.config.loader",
    "recon_operators.config.locate",
    "recon_operators.config.fields",
    "recon_operators.config.dags",
    "recon_operators.config.reference",
    "recon_operators.config.cohorts",
    "recon_operators.config.suites",
    *(
        f"recon_operators.subscribers.{m}"
        for m in ("model", "config", "cloud", "legacy", "provisioning", "jobs", "files", "export", "audit", "sample")
    ),
]


@pytest.mark.parametrize("module", AIRFLOW_FREE)
def test_module_does_not_import_airflow(module):
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT / 'plugins')!r}); import {module}; "
        "leaked = sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')); "
        "print(leaked[:3]); sys.exit(1 if leaked else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, f"{module} imports Airflow: {result.stdout}{result.stderr}"


def test_no_plugin_module_shadows_the_standard_library():
    """Airflow's plugin loader imports every .py under plugins/ by its file name: a module named
    ``types.py`` there replaces the standard library's ``types`` in every task process."""
    clashes = sorted(
        str(p.relative_to(ROOT)) for p in (ROOT / "plugins").rglob("*.py") if p.stem in sys.stdlib_module_names
    )
    assert clashes == []


@pytest.mark.parametrize("package", ["claims", "migration", "config"])
def test_domain_packages_do_not_import_the_dag_factories(package):
    """Config is read through ``recon_operators.config``; the DAG builders sit above the domain."""
    offenders = sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / "plugins" / "recon_operators" / package).rglob("*.py")
        if "recon_operators.factories" in p.read_text(encoding="utf-8")
    )
    assert offenders == []
