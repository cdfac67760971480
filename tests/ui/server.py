"""A real ``airflow api-server`` for the view's tests: its own port, users, secrets; stopped after.

It shares the test session's AIRFLOW_HOME (the SQLite metadata DB the cohort runs wrote), so the
view sees those runs; the simple auth manager reads the users and passwords the test writes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from recon_operators.demo.services import free_port

STARTUP_SECONDS = 240.0  # a loaded 2-core machine needs a while to import Airflow and the plugins


class ApiServer:
    def __init__(
        self, home: Path, users: Mapping[str, tuple[str, str]], extra_env: Mapping[str, str], log_path: Path
    ) -> None:
        """``users``: name -> (role, password), e.g. {"ops": ("viewer", "secret")}."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        passwords = home / "ui_test_passwords.json"
        passwords.write_text(json.dumps({name: password for name, (_, password) in users.items()}))
        self.env = {
            **os.environ,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{n}:{r}" for n, (r, _) in users.items()),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API_AUTH__JWT_SECRET": "recon-ui-test-jwt-secret-of-enough-length",
            "AIRFLOW__API__SECRET_KEY": "recon-ui-test-secret-key",
            "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "False",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            **extra_env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ApiServer:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "airflow",
                "api-server",
                "--port",
                str(self.port),
                "--host",
                "127.0.0.1",
                "--workers",
                "1",
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"api-server exited with {self.process.returncode}; see {self.log_path}")
            try:
                if httpx.get(f"{self.url}/api/v2/monitor/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(1)
        self.stop()
        raise RuntimeError(f"api-server did not answer within {STARTUP_SECONDS:.0f} s; see {self.log_path}")

    def token(self, user: str, password: str) -> str:
        """A JWT from the auth manager's token endpoint, as a script would get one."""
        answer = httpx.post(f"{self.url}/auth/token", json={"username": user, "password": password}, timeout=30)
        answer.raise_for_status()
        return answer.json()["access_token"]

    def stop(self) -> None:
        """Stop the server and its workers (its own process group), then wait for them."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
