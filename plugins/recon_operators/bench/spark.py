"""``make bench-spark [SPARK_ROWS="1000000 5000000"]``: the Spark engine against the default one.

For each row count: the bench's subscribers (``bench.data``, a known 0.2% of differences) as CSV
files and as Postgres/MariaDB tables (fresh databases, dropped at the end), then ``recon diff``
CSV->CSV and Postgres->MariaDB on the default engine and with ``--engine spark`` on
``local[2]``, each in its own process (wall time includes the JVM's start). Every result's counts
must equal the truth (exit 1 otherwise). One JSON line per row count goes to
``bench/history.jsonl`` (``"bench": "spark"``) with the machine's load average and the Spark
engine's rows per second per core.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from recon_operators.bench.data import bench_databases
from recon_operators.bench.run import HISTORY, Measure, _diff_command, measure
from recon_operators.paths import project_root

MASTER = "local[2]"
CORES = 2  # of local[2]


def _diff(source: str, target: str, spark: bool) -> list[str]:
    return _diff_command(source, target) + (["--engine", "spark", "--spark-master", MASTER] if spark else [])


def run_rows(rows: int, env: dict[str, str]) -> tuple[list[Measure], list[str]]:
    results: list[Measure] = []
    problems: list[str] = []
    with bench_databases(rows, "recon-bench-spark-") as data:
        for label, source, target in (
            ("CSV->CSV", str(data.source_csv), str(data.target_csv)),
            ("Postgres->MariaDB", data.pg_url, data.my_url),
        ):
            for engine in ("default", "spark"):
                name = f"{engine} {label}"
                print(f"  {name} ...", flush=True)
                try:
                    result = measure(name, _diff(source, target, engine == "spark"), env=env)
                except RuntimeError as exc:  # recorded as a problem; the other measures still run
                    problems.append(f"{rows:,} {name}: failed: {str(exc).strip().splitlines()[-1][:300]}")
                    continue
                report_json = json.loads(result.output)
                problems += [f"{rows:,} {name}: {p}" for p in data.truth.check(report_json)]
                result.timings = report_json.get("timings") or {}  # the diff's own phases (no JVM start)
                results.append(result)
    return results, problems


def report(rows: int, results: list[Measure], problems: list[str], history: Path) -> None:
    by_name = {m.name: m for m in results}
    load = os.getloadavg()
    print(
        f"\nspark engine benchmark, {rows:,} rows, 16 compared columns, Spark on {MASTER}, {os.cpu_count()} cores, "
        f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
    )
    print(f"{'measure':28} {'wall s':>8} {'peak MB':>8} {'rows/s/core':>12}  vs default")
    for m in results:
        engine, _, label = m.name.partition(" ")
        default = by_name.get(f"default {label}")
        against = f"{m.seconds / default.seconds:5.2f}x" if engine == "spark" and default else ""
        print(f"{m.name:28} {m.seconds:8.2f} {m.peak_mb:8.0f} {rows / m.seconds / CORES:12,.0f}  {against}")
    for m in results:
        if getattr(m, "timings", None):
            print(f"  {m.name} phases: " + ", ".join(f"{k} {v}" for k, v in m.timings.items()))
    print("counts: " + ("all equal to the known truth" if not problems else "WRONG\n  " + "\n  ".join(problems)))
    history.parent.mkdir(parents=True, exist_ok=True)
    with history.open("a") as out:
        out.write(
            json.dumps(
                {
                    "at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "bench": "spark",
                    "rows": rows,
                    "master": MASTER,
                    "host": platform.node(),
                    "cores": os.cpu_count(),
                    "counts_ok": not problems,
                    "load_average": [round(x, 2) for x in load],
                    "columns": 16,
                    "spark_rows_per_second_per_core": {
                        m.name: round(rows / m.seconds / CORES) for m in results if m.name.startswith("spark")
                    },
                    "figures": {
                        m.name: {
                            "seconds": round(m.seconds, 3),
                            "peak_mb": round(m.peak_mb),
                            "timings": getattr(m, "timings", {}),
                        }
                        for m in results
                    },
                }
            )
            + "\n"
        )
    print(f"figures appended to {history}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--history", type=Path, default=project_root() / HISTORY)
    args = parser.parse_args()
    env = {
        **os.environ,
        "PYTHONPATH": str(project_root() / "plugins") + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "RECON_SPARK_SHUFFLE_PARTITIONS": os.environ.get("RECON_SPARK_SHUFFLE_PARTITIONS", "8"),
    }
    failed = False
    for rows in args.rows:  # the smaller first: a wrong count shows before the long run
        results, problems = run_rows(rows, env)
        report(rows, results, problems, args.history)
        failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
