"""Run one DAG with ``dag.test()`` in its own process and write a JSON summary of the run.

The demo calls this in a subprocess so Airflow's task logs go to a log file while the demo's
own output stays a readable report.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("dag_id")
    parser.add_argument("--summary", required=True, type=Path)
    parser.add_argument("--conf", default="{}")
    args = parser.parse_args()

    from airflow.dag_processing.dagbag import DagBag

    from recon_operators.paths import project_root

    bag = DagBag(dag_folder=str(project_root() / "dags"))
    if args.dag_id not in bag.dags:
        args.summary.write_text(
            json.dumps({"error": f"DAG {args.dag_id} not found", "import_errors": bag.import_errors})
        )
        return 2
    run = bag.dags[args.dag_id].test(run_conf=json.loads(args.conf))
    tasks = {}
    for ti in run.get_task_instances():
        key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        tasks[key] = str(ti.state.value if hasattr(ti.state, "value") else ti.state)
    args.summary.write_text(json.dumps({"run_id": run.run_id, "state": str(run.state), "tasks": tasks}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
