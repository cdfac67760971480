"""Errors as users read them: one line, whatever the driver or library put around it."""

from __future__ import annotations


def first_line(text: str) -> str:
    """The first line of a message, stripped ('' for an empty message)."""
    stripped = text.strip()
    return stripped.splitlines()[0].strip() if stripped else ""


def one_line(exc: BaseException) -> str:
    """The first meaningful line of an error (drivers add hints, context and dumps below it)."""
    return first_line(str(exc)) or exc.__class__.__name__
