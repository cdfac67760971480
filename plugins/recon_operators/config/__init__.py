"""Config files as typed models behind one line-aware loader (see ``config.loader``)."""

from recon_operators.config.loader import (
    ConfigError,
    ConfigModel,
    ConfigProblem,
    Located,
    load_config,
    parse_config,
    validate_document,
)
from recon_operators.config.locate import line_of

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
