"""One statement, never more: filters, queries and rule expressions reach a database as text, so a
';' outside string literals and comments (``id > 0); DROP TABLE t; SELECT (1``) is refused before
any client sees it. Read-only transactions are the second fence (see the adapters)."""

from __future__ import annotations

import re

_DOLLAR_TAG = re.compile(r"\$[A-Za-z_0-9]*\$")


class StackedStatementError(ValueError):
    """Text meant as one predicate or one SELECT holds another statement."""


def _statement_end(text: str) -> int | None:
    """Index of the first ';' outside quotes ('...', "...", `...`, $tag$...$tag$) and comments
    (-- and # to the end of the line, /* ... */); None when there is none."""
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char in "'\"`":
            i += 1
            while i < n:
                if text[i] == "\\" and char != "`":
                    i += 2
                    continue
                if text[i] == char:
                    if i + 1 < n and text[i + 1] == char:  # doubled quote inside the literal
                        i += 2
                        continue
                    break
                i += 1
        elif text.startswith("--", i) or char == "#":
            newline = text.find("\n", i)
            i = n if newline < 0 else newline
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            i = n if close < 0 else close + 1
        elif char == "$" and (match := _DOLLAR_TAG.match(text, i)):
            close = text.find(match.group(0), match.end())
            i = n if close < 0 else close + len(match.group(0)) - 1
        elif char == ";":
            return i
        i += 1
    return None


def single_statement(text: str, what: str, *, allow_trailing: bool = False) -> str:
    """``text`` unchanged, or ``StackedStatementError`` naming ``what`` (never echoing the text).
    ``allow_trailing``: a query may end with one ';' (dropped)."""
    body = text.rstrip()
    if allow_trailing and body.endswith(";") and _statement_end(body) == len(body) - 1:
        body = body[:-1].rstrip()
    if _statement_end(body) is not None:
        raise StackedStatementError(
            f"{what} must be one SQL {'statement' if allow_trailing else 'expression'}: "
            "a ';' outside quotes would run another statement"
        )
    return body
