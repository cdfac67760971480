"""A real Airflow 3 deployment for one test: api-server, scheduler, dag-processor and triggerer.

Each runs as its own process group (LocalExecutor workers and task processes included), in a
fresh ``AIRFLOW_HOME`` with a Postgres metadata database created for it, on ports chosen at run
time, so parallel test sessions on one machine do not collide. ``stop()`` ends every group it
started (TERM, then KILL) and drops the database. The REST client logs in through ``/auth/token``
(simple auth manager) and talks to the public API v2, as an on-call engineer's scripts would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from recon_operators.demo import services

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
PASSWORD = "e2e-not-a-secret"


class StackError(RuntimeError):
    """The deployment did not come up, or a wait ran out; the message names what and where to look."""


@dataclass
class AirflowStack:
    """Start with ``start()``, always ``stop()`` (also when start failed half-way)."""

    home: Path
    dags_folder: Path
    extra_env: dict[str, str]
    users: tuple[str, ...] = ("admin", "approver")
    parallelism: int = 4
    metadata_db: str = field(default_factory=lambda: services.unique_name("recon_t_airflow"))
    port: int = field(default_factory=services.free_port)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    _db_created: bool = False
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """The environment every component runs with (LocalExecutor, Postgres metadata DB)."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("AIRFLOW__") and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")
        }
        passwords = self.home / "passwords.json"
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(self.dags_folder.parent / "plugins"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{user}:admin" for user in self.users),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{services.PG_USER}@{services.PG_HOST}:"
                f"{services.PG_PORT}/{self.metadata_db}",
                # Several engineers share one Postgres (max_connections 100): small pools per component.
                "AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_SIZE": "3",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_MAX_OVERFLOW": "6",
                "AIRFLOW__API__BASE_URL": self.base_url,
                "AIRFLOW__API__SECRET_KEY": uuid.uuid4().hex,
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(services.free_port()),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(services.free_port()),
                # Parse once at start; reparsing every 30 s only costs CPU on a 2-core machine.
                "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "3600",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "3600",
                "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
                **self.extra_env,
            }
        )
        return env

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 600) -> AirflowStack:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "passwords.json").write_text(json.dumps({user: PASSWORD for user in self.users}))
        services.create_pg_database(self.metadata_db)
        self._db_created = True
        env = self.env()
        migrate = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"], env=env, capture_output=True, text=True, timeout=timeout
        )
        if migrate.returncode != 0:
            raise StackError(f"airflow db migrate failed: {migrate.stderr.strip().splitlines()[-1:]}")
        for component in COMPONENTS:
            args = [component] + (
                ["--port", str(self.port), "--host", "127.0.0.1"] if component == "api-server" else []
            )
            log = (self.home / f"{component}.log").open("w")
            self.processes[component] = subprocess.Popen(
                [sys.executable, "-m", "airflow", *args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # its own process group: stop() reaches workers and task processes
            log.close()
        self.wait(self._api_up, timeout, "the api-server to answer")
        return self

    def _api_up(self) -> bool:
        self._check_alive()
        try:
            return httpx.get(f"{self.base_url}/api/v2/monitor/health", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def _check_alive(self) -> None:
        for component, process in self.processes.items():
            if process.poll() is not None:
                raise StackError(
                    f"airflow {component} exited with {process.returncode}; "
                    f"see {self.home / (component + '.log')}:\n{self.log_tail(component)}"
                )

    def stop(self) -> None:
        """TERM every process group started here, KILL what is left after a grace period."""
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes.values():
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(process, signal.SIGKILL)  # also any orphaned worker left in the group
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.processes.clear()
        if self._db_created:
            services.drop_pg_database(self.metadata_db)
            self._db_created = False

    def scheduler_processed(self, dag_id: str, task_id: str, run_id: str, state: str) -> bool:
        """Whether the scheduler has handled the executor's report of the task process that left
        the task in ``state`` (its "TaskInstance Finished" line). Resuming a task before that can
        fail it: Airflow 3.3 takes the late report for a task killed externally (apache/airflow#72716)."""
        needle = f"TaskInstance Finished: dag_id={dag_id}, task_id={task_id}, run_id={run_id},"
        log = (self.home / "scheduler.log").read_text(errors="replace")
        return any(needle in line and f" state={state}," in line for line in log.splitlines())

    def log_tail(self, component: str, lines: int = 40) -> str:
        path = self.home / f"{component}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    # -- REST API ----------------------------------------------------------------------------

    def token(self, user: str = "admin") -> str:
        if user not in self._tokens:
            response = httpx.post(
                f"{self.base_url}/auth/token", json={"username": user, "password": PASSWORD}, timeout=30
            )
            response.raise_for_status()
            self._tokens[user] = response.json()["access_token"]
        return self._tokens[user]

    def api(self, method: str, path: str, *, user: str = "admin", **kwargs: Any) -> Any:
        """One call to ``/api/v2``; raises with the answer's text on an error status."""
        response = httpx.request(
            method,
            f"{self.base_url}/api/v2{path}",
            timeout=60,
            headers={"Authorization": f"Bearer {self.token(user)}"},
            **kwargs,
        )
        if response.status_code >= 400:
            raise StackError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json() if response.content else None

    def wait(self, condition: Callable[[], Any], timeout: float, what: str, interval: float = 2.0) -> Any:
        """Poll ``condition`` until it returns something truthy; the components must stay up meanwhile."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            result = condition()
            if result:
                return result
            time.sleep(interval)
        raise StackError(f"timed out after {timeout:.0f} s waiting for {what}")

    def wait_for_dags(self, dag_ids: list[str], timeout: float) -> None:
        def parsed() -> bool:
            found = {d["dag_id"] for d in self.api("GET", "/dags", params={"limit": 100})["dags"]}
            return set(dag_ids) <= found

        self.wait(parsed, timeout, f"the dag-processor to parse {', '.join(dag_ids)}")
        for dag_id in dag_ids:
            self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None, logical_date: str | None = None) -> str:
        run = self.api("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": logical_date, "conf": conf or {}})
        return run["dag_run_id"]

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float) -> str:
        return self.wait(
            lambda: (state := self.run_state(dag_id, run_id)) in ("success", "failed") and state,
            timeout,
            f"{dag_id} run {run_id} to finish",
        )

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 1000})[
            "task_instances"
        ]


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)  # the group id is the leader's pid (start_new_session)
    except (ProcessLookupError, PermissionError):
        pass
