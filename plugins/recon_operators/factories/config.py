"""Loading DAG config from include/config with one clear message per problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from recon_operators.paths import config_dir
from recon_operators.yaml_lines import YamlFileError, read_yaml, reject_duplicate_keys


class ConfigError(ValueError):
    """A config file is missing, malformed or holds a wrong value; the message names where."""


def load_yaml(name: str, directory: Path | None = None) -> dict[str, Any]:
    """A config file's top-level mapping; a missing or malformed file or a key given twice is one
    ``ConfigError`` naming the file and line."""
    path = (directory or config_dir()) / name
    try:
        data = reject_duplicate_keys(read_yaml(path), str(path))
    except YamlFileError as exc:
        raise ConfigError(str(exc)) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def require(data: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = data.get(key)
    if not isinstance(value, kind):
        raise ConfigError(f"{where}: field {key!r} must be a {kind.__name__}, got {value!r}")
    return value
