"""The README's ``recon`` examples run as written, with the exit codes it promises."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def readme_commands() -> list[tuple[list[str], int | None]]:
    text = (ROOT / "README.md").read_text()
    block = text[text.index("## The `recon` command"):]
    block = block[block.index("```bash") + 7: block.index("```", block.index("```bash") + 7)]
    commands = []
    for line in block.strip().splitlines():
        command, _, comment = line.partition("#")
        expected = re.search(r"exit (\d)", comment)
        commands.append((shlex.split(command), int(expected.group(1)) if expected else None))
    return commands


def test_readme_has_the_examples():
    assert len(readme_commands()) == 4


@pytest.mark.parametrize("command, expected_exit", readme_commands())
def test_readme_example_runs_as_written(command, expected_exit):
    import sys

    argv = [sys.executable, "-m", "recon_operators.cli", *command[1:]]
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    if expected_exit is not None:
        assert result.returncode == expected_exit, result.stderr
    else:
        assert result.returncode in (0, 1), result.stderr
    assert result.stderr == ""
