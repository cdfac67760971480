"""YAML as every config file here is read: safe, each mapping and list knowing its line, and a
key given twice caught instead of silently keeping the last value.

PyYAML keeps the last of two equal keys without a word, so a second ``target:`` in a suite once
made it compare a file with itself and pass. Suites, cohorts, batch jobs, claims and report
configs all load through ``read_yaml``/``parse_yaml`` and report ``duplicate_keys`` with the file
and both lines. Plain Python (no Airflow): the engine, the CLI and the DAG factories share it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class YamlFileError(ValueError):
    """A config file cannot be read or parsed; ``line`` is where, when known."""

    def __init__(self, origin: str, line: int | None, message: str):
        self.origin, self.line, self.message = origin, line, message
        super().__init__(f"{origin}{f' line {line}' if line else ''}: {message}")


class LineMap(dict):
    """A mapping that knows its line, each key's line and any key given twice."""

    def __init__(self, line: int):
        super().__init__()
        self.line = line
        self.key_lines: dict[Any, int] = {}
        self.duplicates: list[tuple[Any, int, int]] = []  # (key, line given again, line given first)


class LineList(list):
    """A list that knows its line and each item's line."""

    def __init__(self, line: int, items: list[Any], item_lines: list[int]):
        super().__init__(items)
        self.line = line
        self.item_lines = item_lines


@dataclass(frozen=True)
class DuplicateKey:
    path: str  # dotted path of the key ("target", "stages.mini_recon_1.policy", "checks[2].name")
    line: int
    first_line: int

    @property
    def message(self) -> str:
        return f"given twice (first on line {self.first_line}); YAML would silently keep only the last"


class _LineLoader(yaml.SafeLoader):
    """Safe loader building ``LineMap``/``LineList``."""


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> LineMap:
    loader.flatten_mapping(node)
    result = LineMap(node.start_mark.line + 1)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool, type(None))):
            key = str(key)
        line = key_node.start_mark.line + 1
        if key in result:
            result.duplicates.append((key, line, result.key_lines[key]))
        value = loader.construct_object(value_node, deep=True)
        if isinstance(value, (LineMap, LineList)):
            value.line = min(value.line, line)  # a missing key points at its parent's key line
        result[key] = value
        result.key_lines[key] = line
    return result


def _construct_list(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    return LineList(
        node.start_mark.line + 1,
        [loader.construct_object(n, deep=True) for n in node.value],
        [n.start_mark.line + 1 for n in node.value],
    )


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_list)


def parse_yaml(text: str, origin: str) -> Any:
    """The document as ``LineMap``/``LineList``/scalars; malformed YAML is a ``YamlFileError``."""
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise YamlFileError(
            origin, mark.line + 1 if mark else None, f"malformed YAML: {getattr(exc, 'problem', None) or exc}"
        ) from None


def read_text(path: str | Path, what: str = "config file") -> str:
    """A config file's text; a missing file, a folder or bytes that are not UTF-8 are one
    ``YamlFileError`` each, naming ``what`` the file should have been."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise YamlFileError(str(path), None, f"{what} not found") from None
    except IsADirectoryError:
        raise YamlFileError(str(path), None, f"is a folder, not a {what}") from None
    except UnicodeDecodeError:
        raise YamlFileError(str(path), None, f"{what} is not UTF-8 text") from None
    except OSError as exc:
        raise YamlFileError(str(path), None, f"{what} cannot be read: {exc.strerror or exc}") from None


def read_yaml(path: str | Path, what: str = "config file") -> Any:
    """``read_text`` then ``parse_yaml``."""
    return parse_yaml(read_text(path, what), str(path))


def duplicate_keys(node: Any, path: str = "") -> Iterator[DuplicateKey]:
    """Every key given twice anywhere in the document, in file order of the mappings."""
    if isinstance(node, LineMap):
        for key, line, first_line in node.duplicates:
            yield DuplicateKey(f"{path}.{key}" if path else str(key), line, first_line)
        for key, value in node.items():
            yield from duplicate_keys(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, LineList):
        for index, value in enumerate(node):
            yield from duplicate_keys(value, f"{path}[{index}]")


def reject_duplicate_keys(node: Any, origin: str) -> Any:
    """The document itself, or a ``YamlFileError`` at the first key given twice."""
    for duplicate in duplicate_keys(node):
        raise YamlFileError(origin, duplicate.line, f"key {duplicate.path} {duplicate.message}")
    return node


def plain(value: Any) -> Any:
    """``LineMap``/``LineList`` as plain ``dict``/``list`` (for messages and JSON)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
