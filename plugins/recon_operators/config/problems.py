"""What a config file's problems are: located lines, and the error that lists them.

Apart from the loader so that code raising or catching a config error (the engine's check-suite
objects, the CLI) does not import pydantic and every model with it: a ``recon diff`` starts
about 0.2 s sooner.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class ConfigProblem:
    """One problem of a config file, located: ``file line N: field a.b: message``."""

    file: str
    line: int | None
    field: str | None
    message: str
    subject: str | None = None  # the name of what the file describes (a cohort's id), from the raw file
    noun: ClassVar[str | None] = None  # what kind of thing that is: "cohort 'A'", "cohort <unnamed>"

    def __str__(self) -> str:
        at = f" line {self.line}" if self.line else ""
        named = (
            None if self.noun is None else f"{self.noun} {self.subject!r}" if self.subject else f"{self.noun} <unnamed>"
        )
        about = ", ".join(p for p in (named, f"field {self.field}" if self.field else None) if p)
        return f"{self.file}{at}: {about + ': ' if about else ''}{self.message}"


class ConfigError(ValueError):
    """A config file is missing, malformed or holds wrong values; ``problems`` lists each, located."""

    kind = "config"  # what the message says the problems are in
    problem: type[ConfigProblem] = ConfigProblem  # the located problem this error lists

    def __init__(self, problems: Iterable[object] | str):
        self.problems = (problems,) if isinstance(problems, str) else tuple(problems)
        lines = [str(p) for p in self.problems]
        super().__init__(
            lines[0]
            if len(lines) == 1
            else f"{len(lines)} problems in {self.kind}:\n" + "\n".join(f"  - {x}" for x in lines)
        )
