"""Database command-line clients as bulk streams (psql COPY, mariadb --quick)."""

from __future__ import annotations

import os
import re
import subprocess
from typing import Any

from recon_operators.engine.adapters.base import SourceError
from recon_operators.errors import first_line

_PREFIX = re.compile(r"^(psql:(\S+:)?|ERROR:|ERROR \d+ \(\w+\)( at line \d+)?:)\s*")


def run_client(argv: list[str], env: dict[str, str], out: Any) -> None:
    """Run a client writing to ``out``; its error line becomes a SourceError. Passwords travel
    in the environment, never in argv (visible to every user of the host). The client may print
    the failed statement between dashes first: the server's message is the ERROR line."""
    process = subprocess.run(argv, stdout=out, stderr=subprocess.PIPE, env={**os.environ, **env}, check=False)
    if process.returncode:
        lines = [line.strip() for line in process.stderr.decode(errors="replace").splitlines() if line.strip()]
        errors = [line for line in lines if "ERROR" in line]
        text = first_line(
            errors[0] if errors else (lines[0] if lines else f"{argv[0]} exited with {process.returncode}")
        )
        raise SourceError(_PREFIX.sub("", text).strip())
