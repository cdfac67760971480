"""The one way a config file is read: line-aware YAML, then a typed model, every problem at once.

Why one loader: each file kind once had its own hand-written reader, and they disagreed (some
stopped at the first problem, one had no unknown-key check). Here a file is parsed by
``yaml_lines`` (keys given twice caught), validated by its pydantic model (unknown keys refused),
and each problem is located by walking the error's path back through the parsed document::

    claims.yaml line 31: field compare.key_colums: unknown key (did you mean 'key_columns'?)

Checks across fields come in the same round as the fields' own problems: a validator raising
``Located`` reports each problem at its own path below the model, and a file model's
``cross_checks`` runs even when some fields are wrong, over the fields that did validate alone
(a check skips what it needs but lacks), so one run lists a bad field and a bad combination.

Plain Python and pydantic only, no Airflow: the CLI, the DAG factories and tests share it.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable, Mapping, Sequence, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError, ValidationInfo, model_validator

from recon_operators.yaml_lines import LineList, LineMap, YamlFileError, duplicate_keys, plain, read_yaml

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class ConfigModel(BaseModel):
    """Base of every config file model: unknown keys refused, no silent type coercion, frozen."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    # Hints for unknown keys that belong elsewhere (``{"policy": "belongs to the recon stages"}``).
    key_hints: ClassVar[Mapping[str, str]] = {}
    # An item of a list of these is named by this key in error paths (``prefixes[P1]``, else ``[#2]``).
    item_id: ClassVar[str | None] = None

    @classmethod
    def subject(cls, document: Mapping[str, Any]) -> str | None:
        """What a file's problems are about (``cohort 'A'``), named from the raw file; None: nothing."""
        return None

    @classmethod
    def cross_checks(cls, document: Mapping[str, Any], valid: Mapping[str, Any]) -> Iterable[tuple[Sequence[Any], str]]:
        """Problems across top-level fields, as (path, message); ``valid`` holds each field that
        validated on its own (all of them when the file is valid), ``document`` the raw file."""
        return ()


class SourcedModel(ConfigModel):
    """A file model that remembers where it was read: checks across files name the other file's line."""

    _origin: str | None = PrivateAttr(None)
    _document: Any = PrivateAttr(None)

    @model_validator(mode="after")
    def _remember_source(self, info: ValidationInfo) -> "SourcedModel":
        self._origin = (info.context or {}).get("origin")
        self._document = (info.context or {}).get("document")
        return self

    @property
    def path(self) -> str | None:
        return self._origin

    def line(self, *loc: Any) -> int | None:
        """The line of ``loc`` in the file this was read from."""
        return _line(self._document, loc)


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
        named = None if self.noun is None else f"{self.noun} {self.subject!r}" if self.subject else f"{self.noun} <unnamed>"
        about = ", ".join(p for p in (named, f"field {self.field}" if self.field else None) if p)
        return f"{self.file}{at}: {about + ': ' if about else ''}{self.message}"


class ConfigError(ValueError):
    """A config file is missing, malformed or holds wrong values; ``problems`` lists each, located."""

    kind = "config"  # what the message says the problems are in
    problem: type["ConfigProblem"] = ConfigProblem  # the located problem this error lists

    def __init__(self, problems: Iterable[object] | str):
        self.problems = (problems,) if isinstance(problems, str) else tuple(problems)
        lines = [str(p) for p in self.problems]
        super().__init__(lines[0] if len(lines) == 1
                         else f"{len(lines)} problems in {self.kind}:\n" + "\n".join(f"  - {x}" for x in lines))


class Located(ValueError):
    """Problems found across fields, each at its path: raised by a validator (paths below its
    model) or by a ``build`` step (paths from the file's top)."""

    def __init__(self, problems: Iterable[tuple[Sequence[Any], str]]):
        self.problems = list(problems)
        super().__init__("; ".join(message for _, message in self.problems))


_REF = re.compile("\x00(.*?)\x00")


def line_of(*path: Any) -> str:
    """A placeholder for the line of ``path`` (below the model raising ``Located``) in a message:
    validators see values, not lines, yet a message may point at the other half of a clash."""
    return "\x00" + json.dumps(path) + "\x00"


def _resolve(message: str, document: Any, base: Sequence[Any]) -> str:
    return _REF.sub(lambda m: str(_line(document, (*base, *json.loads(m.group(1))))), message)


def _dotted(loc: Sequence[Any], model: type[BaseModel] | None = None, document: Any = None,
            bad: frozenset[tuple[Any, ...]] = frozenset()) -> str:
    """``a.b[0].c``; an item of a model with ``item_id`` is named by its id (``[P1]``) when that
    id is itself valid, else by its position (``[#1]``)."""
    text = ""
    for index, part in enumerate(loc):
        if not isinstance(part, int):
            text += f".{part}" if text else str(part)
            continue
        owner = _model_at(model, loc[:index + 1]) if model is not None else None
        key = getattr(owner, "item_id", None)
        item = _node(document, loc[:index + 1]) if key else None
        named = item.get(key) if isinstance(item, LineMap) else None
        if key and isinstance(named, (str, int)) and not isinstance(named, bool) \
                and (*loc[:index + 1], key) not in bad:
            text += f"[{named}]"
        else:
            text += f"[#{part + 1}]" if key else f"[{part}]"
    return text


def _node(document: Any, loc: Sequence[Any]) -> Any:
    node = document
    for part in loc:
        if isinstance(node, LineMap) and part in node or isinstance(node, LineList) and isinstance(part, int) \
                and 0 <= part < len(node):
            node = node[part]
        else:
            return None
    return node


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
            field = next((f for name, f in current.model_fields.items() if part in (name, f.alias)), None)
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
    "tuple_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
}


def _kind(value: Any) -> str:
    """The YAML kind of a wrong value, said before it (``got string 'recon'``); numbers speak for themselves."""
    names = {str: "string ", bool: "boolean ", list: "list ", dict: "mapping ", type(None): "empty value "}
    return names.get(type(value), "")


def _message(model: type[BaseModel], document: Any, error: dict[str, Any]) -> str:
    """Pydantic's words, made to read like the rest of the project's errors."""
    kind, loc = error["type"], error["loc"]
    if kind == "extra_forbidden":
        owner = _model_at(model, loc[:-1])
        if owner is not None and str(loc[-1]) in getattr(owner, "key_hints", {}):
            return f"unknown key ({owner.key_hints[str(loc[-1])]})"  # type: ignore[attr-defined]
        allowed = [f.alias or name for name, f in owner.model_fields.items()] if owner else []
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        return f"unknown key ({f'did you mean {close[0]!r}?' if close else 'allowed here: ' + ', '.join(allowed)})"
    if kind == "missing":
        owner = _model_at(model, loc[:-1])
        field = next((f for n, f in owner.model_fields.items() if loc[-1] in (n, f.alias)), None) if owner else None
        extra = field.json_schema_extra if field is not None and isinstance(field.json_schema_extra, dict) else {}
        return str(extra.get("missing", "required field is missing"))
    if kind in _WORDS:
        given = plain(error.get("input"))
        return _WORDS[kind].format(**(error.get("ctx") or {})) + f", got {_kind(given)}{given!r}"
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


def _problems(model: type[BaseModel], document: Any, origin: str, exc: ValidationError,
              problem: type[ConfigProblem], subject: str | None, base: Sequence[Any] = ()) -> list[ConfigProblem]:
    """Each pydantic error located; a ``Located`` raised by a validator becomes one problem per path."""
    found: list[tuple[tuple[Any, ...], str]] = []
    bad: set[tuple[Any, ...]] = set()  # values wrong on their own (an id there cannot name its item)
    missing: set[tuple[Any, ...]] = set()
    for error in exc.errors():
        loc = (*base, *(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-"))))
        raised = (error.get("ctx") or {}).get("error")
        if isinstance(raised, Located):
            found += [((*loc, *sub), _resolve(message, document, loc)) for sub, message in raised.problems]
        else:
            found.append((loc, _message(model, document, {**error, "loc": loc})))
            bad.add(loc)
            if error["type"] == "missing":
                missing.add(loc)
    # A key missing only because it is misspelt is reported once, as the typo.
    typos = {(*loc[:-1], m.split("'")[1]) for loc, m in found if m.startswith("unknown key (did you mean")}
    return [problem(origin, _line(document, loc), _dotted(loc, model, document, frozenset(bad)) or None,
                    message, subject) for loc, message in found if not (loc in missing and loc in typos)]


def _valid_fields(model: type[BaseModel], document: LineMap) -> dict[str, Any]:
    """Each top-level field that validates on its own (defaults for those left out)."""
    valid: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key not in document:
            if not field.is_required():
                valid[name] = field.get_default(call_default_factory=True)
            continue
        try:
            alone = model.__pydantic_validator__.validate_assignment(model.model_construct(), name,
                                                                     plain(document[key]))
        except ValidationError:
            continue
        valid[name] = getattr(alone, name)
    return valid


def validate_document(model: type[M], document: Any, origin: str,
                      error: type[ConfigError] = ConfigError) -> M:
    """``document`` (from ``yaml_lines``) as ``model``; every problem, located, in one ``error``:
    the fields', the duplicate keys' and the model's ``cross_checks`` over the fields that validated."""
    raw = plain(document)
    subject = model.subject(raw) if issubclass(model, ConfigModel) and isinstance(raw, dict) else None
    problems = [error.problem(origin, d.line, d.path, d.message, subject) for d in duplicate_keys(document)]
    try:
        result: M | None = model.model_validate(raw, context={"origin": origin, "document": document})
    except ValidationError as exc:
        problems += _problems(model, document, origin, exc, error.problem, subject)
        result = None
    if issubclass(model, ConfigModel) and isinstance(document, LineMap):
        valid = dict(result) if result is not None else _valid_fields(model, document)
        problems += [error.problem(origin, _line(document, loc), _dotted(loc, model, document) or None,
                                   _resolve(message, document, ()), subject)
                     for loc, message in model.cross_checks(raw, valid)]
    if problems:
        raise error(sorted(problems, key=lambda p: p.line or 0))
    return result  # type: ignore[return-value]


def load_config(model: type[M], path: str | Path, what: str = "config file", *,
                build: Callable[[M], T] | None = None, error: type[ConfigError] = ConfigError) -> Any:
    """Read ``path`` and validate it as ``model`` (then ``build`` it, when given: problems it
    finds raise ``Located``); ``error`` lists every problem with its line."""
    origin = str(path)
    try:
        document = read_yaml(path, what)
    except YamlFileError as exc:
        raise error([error.problem(origin, exc.line, None, exc.message)]) from None
    if not isinstance(document, LineMap):
        raise error([error.problem(origin, None, None, f"a {what} is a mapping of "
                                   + ", ".join(f.alias or n for n, f in model.model_fields.items()))])
    parsed = validate_document(model, document, origin, error)
    if build is None:
        return parsed
    try:
        return build(parsed)
    except Located as exc:
        subject = model.subject(plain(document)) if issubclass(model, ConfigModel) else None
        raise error(sorted((error.problem(origin, _line(document, loc), _dotted(loc, model, document) or None,
                                          _resolve(message, document, ()), subject)
                            for loc, message in exc.problems), key=lambda p: p.line or 0)) from None


def load_folder(model: type[M], folder: str | Path, what: str,
                error: type[ConfigError] = ConfigError) -> tuple[list[M], list[ConfigProblem]]:
    """Every ``*.yaml``/``*.yml`` file of ``folder`` as ``model``: the valid ones, and every
    problem of the others (the caller adds its checks across files, then raises)."""
    directory = Path(folder)
    if not directory.is_dir():
        raise error([error.problem(str(directory), None, None, f"{what.removesuffix(' file')} folder not found")])
    loaded: list[M] = []
    problems: list[ConfigProblem] = []
    for path in sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()):
        try:
            loaded.append(load_config(model, path, what, error=error))
        except ConfigError as exc:
            problems.extend(exc.problems)  # type: ignore[arg-type]
    return loaded, problems
