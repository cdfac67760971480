"""The documented ``recon`` examples run as written, with the exit codes the docs promise.

The README points at them; they live in docs/check-suites.md (``recon validate`` / ``recon check``)
and docs/row-diff.md (``recon diff``): the first ``bash`` block under each section heading below.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
# page, the heading whose first bash block holds the examples, how many examples it shows
EXAMPLES = [
    ("docs/check-suites.md", "## The `recon` command", 4),
    ("docs/row-diff.md", "# Row diff (`recon diff`, `RowDiffOperator`)", 2),
]


def documented_commands(page: str, heading: str) -> list[tuple[list[str], int | None]]:
    """Each command line of the block with the exit code its comment promises (``# exit N``)."""
    text = (ROOT / page).read_text(encoding="utf-8")
    section = text[text.index(heading + "\n") :]
    start = section.index("```bash") + len("```bash")
    block = section[start : section.index("```", start)]
    commands = []
    for line in block.strip().splitlines():
        command, _, comment = line.partition("#")
        expected = re.search(r"exit (\d)", comment)
        commands.append((shlex.split(command), int(expected.group(1)) if expected else None))
    return commands


ALL_COMMANDS = [
    (page, command, expected)
    for page, heading, _ in EXAMPLES
    for command, expected in documented_commands(page, heading)
]


@pytest.mark.parametrize("page, heading, count", EXAMPLES)
def test_the_docs_have_the_examples(page, heading, count):
    commands = documented_commands(page, heading)
    assert len(commands) == count
    assert all(command[0] == ".venv/bin/recon" for command, _ in commands)


def test_the_readme_points_at_the_examples():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/check-suites.md#the-recon-command" in readme


@pytest.mark.parametrize(
    "page, command, expected_exit",
    ALL_COMMANDS,
    ids=[f"{page}:{' '.join(command[1:3])}:{i}" for i, (page, command, _) in enumerate(ALL_COMMANDS)],
)
def test_documented_example_runs_as_written(page, command, expected_exit):
    argv = [sys.executable, "-m", "recon_operators.cli", *command[1:]]
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    if expected_exit is not None:
        assert result.returncode == expected_exit, result.stderr
    else:
        assert result.returncode in (0, 1), result.stderr
    assert result.stderr == ""
