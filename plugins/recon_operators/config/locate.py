"""Where a config problem is and how it reads: the line and dotted path of an error, in words.

Why apart from the loader: finding a line, naming a list item by its id and rewording pydantic's
messages is one job; reading and validating files is another.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from recon_operators.yaml_lines import LineList, LineMap, plain

_REF = re.compile("\x00(.*?)\x00")


def line_of(*path: Any) -> str:
    """A placeholder for the line of ``path`` (below the model raising ``Located``) in a message:
    validators see values, not lines, yet a message may point at the other half of a clash."""
    return "\x00" + json.dumps(path) + "\x00"


def resolve(message: str, document: Any, base: Sequence[Any]) -> str:
    return _REF.sub(lambda m: str(line_at(document, (*base, *json.loads(m.group(1))))), message)


def dotted(
    loc: Sequence[Any],
    model: type[BaseModel] | None = None,
    document: Any = None,
    bad: frozenset[tuple[Any, ...]] = frozenset(),
) -> str:
    """``a.b[0].c``; an item of a model with ``item_id`` is named by its id (``[P1]``) when that
    id is itself valid, else by its position (``[#1]``)."""
    text = ""
    for index, part in enumerate(loc):
        if not isinstance(part, int):
            text += f".{part}" if text else str(part)
            continue
        owner = model_at(model, loc[: index + 1]) if model is not None else None
        key = getattr(owner, "item_id", None)
        item = _node(document, loc[: index + 1]) if key else None
        named = item.get(key) if isinstance(item, LineMap) else None
        if (
            key
            and isinstance(named, (str, int))
            and not isinstance(named, bool)
            and (*loc[: index + 1], key) not in bad
        ):
            text += f"[{named}]"
        else:
            text += f"[#{part + 1}]" if key else f"[{part}]"
    return text


def _node(document: Any, loc: Sequence[Any]) -> Any:
    node = document
    for part in loc:
        if (
            isinstance(node, LineMap)
            and part in node
            or isinstance(node, LineList)
            and isinstance(part, int)
            and 0 <= part < len(node)
        ):
            node = node[part]
        else:
            return None
    return node


def line_at(document: Any, loc: Sequence[Any]) -> int | None:
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


def model_at(model: type[BaseModel], loc: Sequence[Any]) -> type[BaseModel] | None:
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


def wording(model: type[BaseModel], document: Any, error: dict[str, Any]) -> str:
    """Pydantic's words, made to read like the rest of the project's errors."""
    kind, loc = error["type"], error["loc"]
    if kind == "extra_forbidden":
        owner = model_at(model, loc[:-1])
        if owner is not None and str(loc[-1]) in getattr(owner, "key_hints", {}):
            return f"unknown key ({owner.key_hints[str(loc[-1])]})"  # type: ignore[attr-defined]
        allowed = [f.alias or name for name, f in owner.model_fields.items()] if owner else []
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        return f"unknown key ({f'did you mean {close[0]!r}?' if close else 'allowed here: ' + ', '.join(allowed)})"
    if kind == "missing":
        owner = model_at(model, loc[:-1])
        field = next((f for n, f in owner.model_fields.items() if loc[-1] in (n, f.alias)), None) if owner else None
        extra = field.json_schema_extra if field is not None and isinstance(field.json_schema_extra, dict) else {}
        return str(extra.get("missing", "required field is missing"))
    if kind in _WORDS:
        given = plain(error.get("input"))
        given = list(given) if isinstance(given, tuple) else given  # a YAML list read as a tuple (as_tuple)
        said = _kind(given) if kind.endswith("_type") else ""  # a wrong type: say which it was
        return _WORDS[kind].format(**(error.get("ctx") or {})) + f", got {said}{given!r}"
    message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind in ("literal_error", "enum"):
        options = _expected(error)
        close = difflib.get_close_matches(str(error.get("input")), options, n=1, cutoff=0.6)
        return f"must be one of {', '.join(options)}, got {plain(error.get('input'))!r}" + (
            f" (did you mean {close[0]!r}?)" if close else ""
        )
    if not kind.startswith("value_error") and "input" in error and not isinstance(error["input"], (dict, list)):
        message += f", got {plain(error['input'])!r}"
    return message


def _expected(error: dict[str, Any]) -> list[str]:
    expected = str((error.get("ctx") or {}).get("expected", ""))
    return [part.strip(" '\"") for part in expected.replace(" or ", ",").split(",") if part.strip(" '\"")]
