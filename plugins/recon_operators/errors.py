"""Errors as users read them: one line, whatever the driver or library put around it, with no
secret and no subscriber data in it.

The CLI prints ``error_line`` after ``recon: error:``; the operators record the same line as the
run's error and fail the task with it, so a user reads the same words wherever they look.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from recon_operators.connections import url_secrets
from recon_operators.engine.masking import scrub

# A URL-looking word, up to whitespace or a quote: its password is parsed out and hidden even
# when it holds characters ("/", "#", "?") that the pattern-based redaction stops at.
_URL_WORD = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"]+")
# Hiding every "ab" of a text because a password was "ab" would garble it; shorter passwords
# are left to the pattern-based redaction (and to the parsers, whose labels never show them).
MIN_SECRET_LENGTH = 4


class CommandError(Exception):
    """A command could not complete its comparison; the message is the one line to print."""


def first_line(text: str) -> str:
    """The first line of a message, stripped ('' for an empty message)."""
    stripped = text.strip()
    return stripped.splitlines()[0].strip() if stripped else ""


def one_line(exc: BaseException) -> str:
    """The first meaningful line of an error (drivers add hints, context and dumps below it)."""
    return first_line(str(exc)) or exc.__class__.__name__


def url_secrets_in(text: str) -> set[str]:
    """The passwords of every URL written in a text (a suite file, a message)."""
    found: set[str] = set()
    for word in _URL_WORD.findall(text):
        found |= url_secrets(word)
    return found


def redact_values(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of these secret values, and of the passwords of the URLs
    written in it, replaced by ``***`` (structure such as JSON stays intact)."""
    known = set(secrets) | url_secrets_in(text)
    for secret in sorted((s for s in known if len(s) >= MIN_SECRET_LENGTH), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def mask_line(text: str, secrets: Iterable[str] = ()) -> str:
    """A message as it may leave: known secrets, URL passwords, ``password=`` style values and
    PII (MSISDN, IMSI, email) masked."""
    return scrub(redact_values(text, secrets))


def error_line(exc: BaseException, secrets: Iterable[str] = ()) -> str:
    """The one line a user reads for an error. This project's errors are written for users (a
    config error listing ``problems`` shows the first and how many more); another library's
    say which error they are (``InvalidInputException: ...``)."""
    problems = getattr(exc, "problems", None)
    if isinstance(problems, (list, tuple)) and problems:
        more = f" (+{len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        line = first_line(str(problems[0])) + more
    else:
        line = one_line(exc)
    if not type(exc).__module__.startswith("recon_operators"):
        line = f"{type(exc).__name__}: {line}"
    return mask_line(line, secrets)
