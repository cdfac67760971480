"""Config files as typed models behind one line-aware loader (see ``config.loader``).

The loader's names are looked up on first use (PEP 562): importing ``config.problems`` alone, as
the engine's suite objects and the CLI do, must not import pydantic and the loader with it.
"""

from __future__ import annotations

from typing import Any

from recon_operators.config.problems import ConfigError, ConfigProblem

_FROM_LOADER = ("ConfigModel", "Located", "load_config", "parse_config", "validate_document")

__all__ = [
    "ConfigError",
    "ConfigModel",
    "ConfigProblem",
    "Located",
    "line_of",
    "load_config",
    "parse_config",
    "validate_document",
]


def __getattr__(name: str) -> Any:
    if name in _FROM_LOADER:
        from recon_operators.config import loader

        return getattr(loader, name)
    if name == "line_of":
        from recon_operators.config.locate import line_of

        return line_of
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
