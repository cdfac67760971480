"""Loading DAG config from include/config with one clear message per problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from recon_operators.paths import config_dir


class ConfigError(ValueError):
    """A config file is missing, malformed or holds a wrong value; the message names where."""


def load_yaml(name: str, directory: Path | None = None) -> dict[str, Any]:
    path = (directory or config_dir()) / name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: malformed YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def require(data: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = data.get(key)
    if not isinstance(value, kind):
        raise ConfigError(f"{where}: field {key!r} must be a {kind.__name__}, got {value!r}")
    return value
