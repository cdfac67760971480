"""The config field reference (docs/config-reference.md), generated from the models.

Why generated: a hand-kept field list drifts from what the loader accepts. ``recon config-docs``
writes this text; a test fails when the committed file differs from it.
"""

from __future__ import annotations

import inspect
import types
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from recon_operators.paths import project_root

REFERENCE_PATH = Path("docs") / "config-reference.md"


def file_models() -> list[tuple[str, type[BaseModel]]]:
    """(file location, model) of every config file kind that loads through ``config.loader``."""
    from recon_operators.claims.config import ClaimsFile
    from recon_operators.config.batch_jobs import BatchJobConfig
    from recon_operators.config.cohorts import CohortConfig
    from recon_operators.config.dags import ExampleGateFile, StoreMaintenanceFile
    from recon_operators.config.suites import SuiteFile
    from recon_operators.migration.report_config import BrmFile, MatrixFile, MeasuresFile
    from recon_operators.subscribers.config import SubscribersFile

    return [
        ("include/config/cohorts/*.yaml", CohortConfig),
        ("include/config/suites/*.yaml", SuiteFile),
        ("include/config/batch_jobs/*.yaml", BatchJobConfig),
        ("include/config/claims/*.yaml", ClaimsFile),
        ("include/config/reports/mini_recon_2.yaml", MeasuresFile),
        ("include/config/reports/etl_stage_matrix.yaml", MatrixFile),
        ("include/config/reports/mini_recon_3.yaml", BrmFile),
        ("include/config/subscribers/jobs.yaml", SubscribersFile),
        ("include/config/store.yaml", StoreMaintenanceFile),
        ("include/config/example_gate.yaml", ExampleGateFile),
    ]


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def _type_name(annotation: Any) -> str:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _type_name(args[0])
    if origin in (Union, types.UnionType):
        named = [_type_name(a) for a in args if a is not type(None)]
        return " or ".join(dict.fromkeys(named))
    if origin is Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin in (list, tuple):
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is not None and "Mapping" in str(origin) or origin is dict:
        return f"mapping of {_type_name(args[0])} to {_type_name(args[1])}" if args else "mapping"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    names = {str: "text", int: "whole number", float: "number", Decimal: "number", bool: "true/false"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _rules(annotation: Any) -> list[str]:
    """The rules the field's types carry in words (``Field(description=...)`` in ``Annotated``)."""
    found = [getattr(m, "description", None) for m in getattr(annotation, "__metadata__", ())]
    return [r for r in found if r] + [r for arg in get_args(annotation) for r in _rules(arg)]


def _meaning(field: Any, hint: Any) -> str:
    """The field's own description, then its type's rules. ``hint``: the annotation as written
    (pydantic folds a type's ``Field(description=...)`` into the field, where the field's own
    description replaces it)."""
    parts = [p for p in dict.fromkeys([field.description, *_rules(hint), *_rules(field.annotation)]) if p]
    return "; ".join(parts).replace("|", "\\|")


def _default(field: Any) -> str:
    if field.is_required():
        return "**required**"
    value = field.default_factory() if field.default_factory is not None else field.default
    if value is PydanticUndefined or value is None:
        return "optional"
    if isinstance(value, BaseModel):
        return "optional"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Decimal):
        return f"`{value}`"
    return f"`{value!r}`" if not isinstance(value, (list, dict, tuple)) or value else "empty"


def _section(model: type[BaseModel], where: str | None) -> list[str]:
    doc = inspect.cleandoc(model.__doc__ or "").replace("\n", " ")
    lines = [f"### {model.__name__}", ""]
    if where:
        lines += [f"File: `{where}`", ""]
    if doc:
        lines += [doc, ""]
    lines += ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    hints = get_type_hints(model, include_extras=True)
    for name, field in model.model_fields.items():
        meaning = _meaning(field, hints.get(name))
        lines.append(f"| `{field.alias or name}` | {_type_name(field.annotation)} | {_default(field)} | {meaning} |")
    return lines + [""]


def render_reference() -> str:
    """The whole reference page, deterministic for a given set of models."""
    lines = [
        "# Config file reference",
        "",
        "Generated from the models in `plugins/recon_operators` by `recon config-docs`; do not edit by hand.",
        "Every file loads through one loader (`recon_operators.config.loader`): unknown and duplicate keys",
        "are refused, and every problem is reported at once as `FILE line N: field PATH: message`.",
        "",
    ]
    seen: set[type[BaseModel]] = set()
    for where, model in file_models():
        lines += [f"## {where}", ""]
        queue = [model]
        while queue:
            current = queue.pop(0)
            if current in seen:
                continue
            seen.add(current)
            lines += _section(current, where if current is model else None)
            queue += [m for f in current.model_fields.values() for m in _models_in(f.annotation) if m not in seen]
    return "\n".join(lines).rstrip("\n") + "\n"


def write_reference(root: Path | None = None) -> Path:
    """Write the reference under the project root; returns the path written."""
    path = (root or project_root()) / REFERENCE_PATH
    path.write_text(render_reference(), encoding="utf-8")
    return path
