"""``make bench [N=rows]``: time ``recon diff`` against this machine's floor, in one run.

Generates N subscribers (17 columns, MSISDN text key) with a known 0.2% of differences, loads
them into fresh Postgres and MariaDB databases in the types a migration uses (timestamp(6) ->
DATETIME(6) with real microseconds, boolean -> TINYINT(1), jsonb -> JSON; dropped at the end), and
measures, each in its own process (wall time, and peak RSS from the process's VmHWM):

* the floor: both databases streaming the table out at once (``COPY subscribers TO STDOUT``
  through psql and ``mariadb --quick``, in parallel: what any diff of the two must wait for),
  and DuckDB's full outer join diff of the two CSV files;
* ``recon diff`` Postgres -> MariaDB and CSV -> CSV, every non-key column compared and no rule
  given, whose counts must equal the truth (exit 1 otherwise).

Every measure runs in each of ``--repeat`` rounds (default 3, interleaved) and its best round is
reported: on a shared machine a slow minute otherwise decides a ratio. Each figure is printed with
its ratio to the floor and to the previous run's figure, read from ``bench/history.jsonl`` (one
JSON line appended per run, with every round's seconds), with the machine's load average.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from recon_operators.bench.data import bench_databases, mariadb_scan
from recon_operators.demo import services
from recon_operators.paths import project_root
from recon_operators.sql_templates import literal, render_sql

HISTORY = Path("bench") / "history.jsonl"


@dataclass
class Measure:
    name: str
    seconds: float
    peak_mb: float
    output: str = ""


def _high_water_mb(pid: int) -> float | None:
    """The process's peak RSS since its exec (VmHWM belongs to the new program's memory; the
    rusage maxrss would also count what a spawned child inherited from this process)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            line = next((line for line in status if line.startswith("VmHWM:")), None)
    except OSError:
        return None
    return int(line.split()[1]) / 1024 if line else None


def measure(name: str, command: list[str], *, env: dict[str, str] | None = None) -> Measure:
    """Wall time and peak RSS of one command (sampled every 20 ms), its output captured."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        actions = [(os.POSIX_SPAWN_DUP2, out.fileno(), 1), (os.POSIX_SPAWN_DUP2, err.fileno(), 2)]
        started = time.perf_counter()
        pid = os.posix_spawnp(command[0], command, env if env is not None else dict(os.environ), file_actions=actions)
        peak = 0.0
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            peak = max(peak, _high_water_mb(pid) or 0.0)
            time.sleep(0.02)
        seconds = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        output, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if code not in (0, 1):
        raise RuntimeError(f"{name} failed ({code}): {stderr.strip()[-500:]}")  # the error line is last
    return Measure(name, seconds, peak, output)


def measure_together(name: str, commands: list[list[str]]) -> Measure:
    """Wall time until every command is done, started at once (peak: the largest of them)."""
    with tempfile.TemporaryFile() as sink:
        actions = [(os.POSIX_SPAWN_DUP2, sink.fileno(), 1), (os.POSIX_SPAWN_DUP2, sink.fileno(), 2)]
        started = time.perf_counter()
        pids = [os.posix_spawnp(c[0], c, dict(os.environ), file_actions=actions) for c in commands]
        peak, running = 0.0, set(pids)
        while running:
            for pid in list(running):
                peak = max(peak, _high_water_mb(pid) or 0.0)
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    running.discard(pid)
                    if os.waitstatus_to_exitcode(status) != 0:
                        raise RuntimeError(f"{name}: {commands[pids.index(pid)][0]} failed")
            time.sleep(0.02)
        return Measure(name, time.perf_counter() - started, peak)


def _diff_command(source: str, target: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "recon_operators.cli",
        "diff",
        source,
        target,
        "--key",
        "msisdn",
        "--json",
        "--sample",
        "5",
    ]


def _previous(history: Path, rows: int, bench: str = "rowdiff") -> dict[str, Any]:
    """The figures of the last recorded run of ``bench`` with the same row count ({} when none)."""
    if not history.exists():
        return {}
    runs = [json.loads(line) for line in history.read_text().splitlines() if line.strip()]
    return next(
        (run["figures"] for run in reversed(runs) if run.get("rows") == rows and run.get("bench", "rowdiff") == bench),
        {},
    )


def run(rows: int, history: Path, repeat: int = 3) -> int:
    env = {**os.environ, "PYTHONPATH": str(project_root() / "plugins") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    problems: list[str] = []
    with bench_databases(rows, "recon-bench-") as data:
        source_csv, target_csv, truth, pg_db = data.source_csv, data.target_csv, data.truth, data.pg_db
        print("loaded Postgres (source) and MariaDB (target); measuring ...", flush=True)
        floor_sql = render_sql(
            "floor_duckdb_diff.sql",
            package="recon_operators.bench",
            source=literal(str(source_csv)),
            target=literal(str(target_csv)),
        )
        copy = [
            "psql",
            "-X",
            "-q",
            "-h",
            services.PG_HOST,
            "-p",
            str(services.PG_PORT),
            "-U",
            services.PG_USER,
            "-d",
            pg_db,
            "-c",
            "COPY subscribers TO STDOUT",
        ]
        quick = mariadb_scan(data.my_db)
        # Rounds interleave every measure, so a slower minute of a shared machine touches floors
        # and diffs alike; each measure's best round is reported (its peak: the largest).
        rounds: list[list[Measure]] = []
        for _ in range(repeat):
            results = [
                measure("floor: Postgres COPY TO STDOUT", copy),
                measure("floor: mariadb --quick", quick),
                measure_together("floor: both databases stream out together", [copy, quick]),
                measure(
                    "floor: DuckDB CSV join diff",
                    [sys.executable, "-c", "import duckdb,sys; print(duckdb.sql(sys.argv[1]).fetchall())", floor_sql],
                    env=env,
                ),
            ]
            for name, source, target in (
                ("recon diff Postgres->MariaDB", data.pg_url, data.my_url),
                ("recon diff CSV->CSV", str(source_csv), str(target_csv)),
            ):
                result = measure(name, _diff_command(source, target), env=env)
                problems += [f"{name}: {p}" for p in truth.check(json.loads(result.output))]
                results.append(result)
            rounds.append(results)
    problems = list(dict.fromkeys(problems))  # a wrong count says so once, not once per round
    report(rows, best_of(rounds), history, problems, rounds=[[m.seconds for m in r] for r in rounds])
    return 1 if problems else 0


def best_of(rounds: list[list[Measure]]) -> list[Measure]:
    """Per measure (same position in each round): the fastest round, with the largest peak seen."""
    return [Measure(same[0].name, min(m.seconds for m in same), max(m.peak_mb for m in same)) for same in zip(*rounds)]


def report(
    rows: int, results: list[Measure], history: Path, problems: list[str], rounds: list[list[float]] | None = None
) -> None:
    by_name = {m.name: m for m in results}
    together = by_name["floor: both databases stream out together"].seconds
    floors = {
        "recon diff Postgres->MariaDB": ("both DBs stream out", together, 2.0),
        "recon diff CSV->CSV": ("DuckDB join diff", by_name["floor: DuckDB CSV join diff"].seconds, 1.3),
    }
    previous = _previous(history, rows)
    load = os.getloadavg()
    best = f", best of {len(rounds)} rounds" if rounds and len(rounds) > 1 else ""
    print(
        f"\nrow diff benchmark, {rows:,} rows, 16 compared columns, no rule, {os.cpu_count()} cores, "
        f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}{best}"
    )
    print(f"{'measure':34} {'wall s':>8} {'peak MB':>8}  vs floor            vs previous")
    for m in results:
        against = ""
        if m.name in floors:
            label, floor, target = floors[m.name]
            against = f"{m.seconds / floor:4.2f}x {label} (target <= {target}x)"
        before = previous.get(m.name)
        change = f"{m.seconds / before['seconds']:4.2f}x of {before['seconds']:.2f}s" if before else "-"
        print(f"{m.name:34} {m.seconds:8.2f} {m.peak_mb:8.0f}  {against:40} {change}")
    print("counts: " + ("all equal to the known truth" if not problems else "WRONG\n  " + "\n  ".join(problems)))
    history.parent.mkdir(parents=True, exist_ok=True)
    with history.open("a") as out:
        out.write(
            json.dumps(
                {
                    "at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "rows": rows,
                    "host": platform.node(),
                    "cores": os.cpu_count(),
                    "counts_ok": not problems,
                    "load_average": [round(x, 2) for x in load],
                    "columns": 16,
                    "ratios": {name: round(by_name[name].seconds / floor, 2) for name, (_, floor, _) in floors.items()},
                    "figures": {m.name: {"seconds": round(m.seconds, 3), "peak_mb": round(m.peak_mb)} for m in results},
                    **(
                        {"rounds": {m.name: [round(r[i], 3) for r in rounds] for i, m in enumerate(results)}}
                        if rounds
                        else {}
                    ),
                }
            )
            + "\n"
        )
    print(f"figures appended to {history}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=int(os.environ.get("N") or 1_000_000))
    parser.add_argument("--history", type=Path, default=project_root() / HISTORY)
    parser.add_argument(
        "--repeat", type=int, default=int(os.environ.get("REPEAT") or 3), help="rounds; each measure's best is reported"
    )
    args = parser.parse_args()
    return run(args.rows, args.history, max(1, args.repeat))


if __name__ == "__main__":
    sys.exit(main())
