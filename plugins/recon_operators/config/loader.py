"""The one way a config file is read: line-aware YAML, then a typed model, every problem at once.

Why one loader: each file kind once had its own hand-written reader, and they disagreed (some
stopped at the first problem, one had no unknown-key check). Here a file is parsed by
``yaml_lines`` (keys given twice caught), validated by its pydantic model (unknown keys refused),
and each problem is located by walking the error's path back through the parsed document::

    claims.yaml line 31: field compare.key_colums: unknown key (did you mean 'key_columns'?)

Checks across fields (a ``build`` step raising ``Located``) run once every field is valid on its
own, so a file's problems come in at most two rounds: the fields', then the combinations'.

Plain Python and pydantic only, no Airflow: the CLI, the DAG factories and tests share it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError

from recon_operators.yaml_lines import LineList, LineMap, YamlFileError, duplicate_keys, plain, read_yaml

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class ConfigModel(BaseModel):
    """Base of every config file model: unknown keys refused, no silent type coercion, frozen."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


@dataclass(frozen=True)
class ConfigProblem:
    """One problem of a config file, located: ``file line N: field a.b: message``."""

    file: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        at = f" line {self.line}" if self.line else ""
        return f"{self.file}{at}: {f'field {self.field}: ' if self.field else ''}{self.message}"


class ConfigError(ValueError):
    """A config file is missing, malformed or holds wrong values; ``problems`` lists each, located."""

    kind = "config"  # what the message says the problems are in

    def __init__(self, problems: Iterable[object] | str):
        self.problems = (problems,) if isinstance(problems, str) else tuple(problems)
        lines = [str(p) for p in self.problems]
        super().__init__(lines[0] if len(lines) == 1
                         else f"{len(lines)} problems in {self.kind}:\n" + "\n".join(f"  - {x}" for x in lines))


class Located(ValueError):
    """Raised by a ``build`` step with problems found across fields, each at its document path."""

    def __init__(self, problems: Iterable[tuple[Sequence[Any], str]]):
        self.problems = list(problems)
        super().__init__("; ".join(message for _, message in self.problems))


def _dotted(loc: Sequence[Any]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _line(document: Any, loc: Sequence[Any]) -> int | None:
    """The line of the deepest node of ``loc`` the document has (a missing key: its parent's)."""
    node, line = document, getattr(document, "line", None)
    for part in loc:
        if isinstance(node, LineMap) and part in node:
            line, node = node.key_lines[part], node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
            line, node = node.item_lines[part], node[part]
        else:
            break
    return line


def _model_at(model: type[BaseModel], loc: Sequence[Any]) -> type[BaseModel] | None:
    """The model class that owns the last key of ``loc`` (to list the keys allowed there)."""
    current: Any = model
    for part in loc:
        while get_origin(current) is not None or get_args(current):
            args = [a for a in get_args(current) if a is not type(None)]
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            current = models[0] if models else (args[-1] if args else None)
            if current is None:
                return None
        if isinstance(current, type) and issubclass(current, BaseModel) and isinstance(part, str):
            field = current.model_fields.get(part)
            if field is None:
                return None
            current = field.annotation
    while not (isinstance(current, type) and issubclass(current, BaseModel)):
        args = [a for a in get_args(current) if isinstance(a, type) and issubclass(a, BaseModel)]
        if not args:
            return None
        current = args[0]
    return current


_WORDS = {
    "too_short": "must hold at least {min_length} item(s)",
    "too_long": "must hold at most {max_length} item(s)",
    "greater_than_equal": "must be >= {ge}",
    "greater_than": "must be > {gt}",
    "less_than_equal": "must be <= {le}",
    "less_than": "must be < {lt}",
    "string_type": "must be a string",
    "int_type": "must be a whole number",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
}


def _message(model: type[BaseModel], document: Any, error: dict[str, Any]) -> str:
    """Pydantic's words, made to read like the rest of the project's errors."""
    kind, loc = error["type"], error["loc"]
    if kind == "extra_forbidden":
        owner = _model_at(model, loc[:-1])
        allowed = [f.alias or name for name, f in owner.model_fields.items()] if owner else []
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        return f"unknown key ({f'did you mean {close[0]!r}?' if close else 'allowed here: ' + ', '.join(allowed)})"
    if kind == "missing":
        return "required field is missing"
    if kind in _WORDS:
        return _WORDS[kind].format(**(error.get("ctx") or {})) + f", got {plain(error.get('input'))!r}"
    message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind in ("literal_error", "enum"):
        options = _expected(error)
        close = difflib.get_close_matches(str(error.get("input")), options, n=1, cutoff=0.6)
        return (f"must be one of {', '.join(options)}, got {plain(error.get('input'))!r}"
                + (f" (did you mean {close[0]!r}?)" if close else ""))
    if not kind.startswith("value_error") and "input" in error and not isinstance(error["input"], (dict, list)):
        message += f", got {plain(error['input'])!r}"
    return message


def _expected(error: dict[str, Any]) -> list[str]:
    expected = str((error.get("ctx") or {}).get("expected", ""))
    return [part.strip(" '\"") for part in expected.replace(" or ", ",").split(",") if part.strip(" '\"")]


def validate_document(model: type[M], document: Any, origin: str,
                      error: type[ConfigError] = ConfigError) -> M:
    """``document`` (from ``yaml_lines``) as ``model``; every problem, located, in one ``error``."""
    problems = [ConfigProblem(origin, d.line, d.path, d.message) for d in duplicate_keys(document)]
    try:
        result = model.model_validate(plain(document), context={"origin": origin})
    except ValidationError as exc:
        for found in exc.errors():
            loc = tuple(p for p in found["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            problems.append(ConfigProblem(origin, _line(document, loc), _dotted(loc) or None,
                                          _message(model, document, found)))
        result = None
    if problems:
        raise error(sorted(problems, key=lambda p: p.line or 0))
    return result  # type: ignore[return-value]


def load_config(model: type[M], path: str | Path, what: str = "config file", *,
                build: Callable[[M], T] | None = None, error: type[ConfigError] = ConfigError) -> Any:
    """Read ``path`` and validate it as ``model`` (then ``build`` it, when given: checks across
    fields raise ``Located``); ``error`` lists every problem with its line."""
    origin = str(path)
    try:
        document = read_yaml(path, what)
    except YamlFileError as exc:
        raise error([ConfigProblem(origin, exc.line, None, exc.message)]) from None
    if not isinstance(document, LineMap):
        raise error([ConfigProblem(origin, getattr(document, "line", None), None,
                                   f"a {what} is a mapping of {', '.join(model.model_fields)}")])
    parsed = validate_document(model, document, origin, error)
    if build is None:
        return parsed
    try:
        return build(parsed)
    except Located as exc:
        raise error(sorted((ConfigProblem(origin, _line(document, loc), _dotted(loc) or None, message)
                            for loc, message in exc.problems), key=lambda p: p.line or 0)) from None
