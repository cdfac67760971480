"""The application ``spark-submit`` runs for an operator in spark-submit mode: one suite on the
Spark engine, its results written as JSON for the operator to record.

``spark-submit .../engine/spark/job.py SUITE SCOPE_JSON RESULTS_PATH [CHECK ...]``. The driver
reads the sides' connections from ``AIRFLOW_CONN_*`` (the operator passes them as the job's
environment), runs the suite with ``engine="spark"`` on the session spark-submit configured, and
writes the results to RESULTS_PATH (a path the operator can read: local in client mode, shared
storage on a cluster). The operator, not the job, writes the ledger, so both modes record alike.
"""

from __future__ import annotations

import json
import sys
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from recon_operators.engine.results import CheckResult


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$decimal"}:
            return Decimal(value["$decimal"])
        if set(value) == {"$datetime"}:
            return datetime.fromisoformat(value["$datetime"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def dump_results(results: list[CheckResult]) -> str:
    """Results as JSON that ``load_results`` turns back into equal objects (Decimals stay exact)."""
    return json.dumps(
        [{f.name: _encode(getattr(r, f.name)) for f in fields(CheckResult)} for r in results], default=str
    )


def load_results(text: str) -> list[CheckResult]:
    return [CheckResult(**{k: _decode(v) for k, v in item.items()}) for item in json.loads(text)]


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print("usage: job.py SUITE SCOPE_JSON RESULTS_PATH [CHECK ...]", file=sys.stderr)
        return 2
    import os

    from recon_operators.engine.opener import open_side
    from recon_operators.engine.runner import run_suite
    from recon_operators.engine.scope import Scope
    from recon_operators.engine.spark.session import SUBMITTED
    from recon_operators.engine.spec import load_suite

    os.environ[SUBMITTED] = "1"
    suite_path, scope_json, results_path, *only = argv
    suite = load_suite(suite_path)
    results = run_suite(suite, Scope.from_mapping(json.loads(scope_json)), open_side, only=only or None, engine="spark")
    Path(results_path).write_text(dump_results(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
