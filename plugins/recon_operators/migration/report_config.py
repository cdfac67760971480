"""Report configs from include/config/reports: which measures Mini Recon 2 and the overall summary
take, and where each service table of the ETL stage report lives per layer.

Why strict: these files decide which numbers a gate sees. A typo (unknown key, wrong store, a
table name that is not an identifier) must stop the report with one line naming the file and the
field, never measure the wrong thing quietly. Identifiers are validated here and quoted where the
SQL is built; filter values are bound parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from recon_operators.engine.identifiers import IdentifierError, validate_identifier
from recon_operators.factories.config import ConfigError, load_yaml
from recon_operators.paths import config_dir

LAYERS = ("source", "transform", "stage", "target")
STAGE_STORES = ("mariadb", "mongodb", "postgres")
MR2_REPORTS = ("transformed_msisdn", "status_comparison", "plan_validation", "app_login", "addon_validation",
               "pulsa_balance", "subscriber_promotion", "payment_sub_count")
RULES = ("app_login",)
MR2_CONFIG = "reports/mini_recon_2.yaml"
MATRIX_CONFIG = "reports/etl_stage_matrix.yaml"
MR3_CONFIG = "reports/mini_recon_3.yaml"

_SIDE_KEYS = {"table", "collection", "dataset", "store", "distinct", "sum", "filter", "cohort_column",
              "json_column", "msisdn_column"}
_MEASURE_KEYS = {"report", "service", "subset", "group_by", "rule", *LAYERS,
                 "distinct", "sum", "filter", "cohort_column", "json_column", "msisdn_column"}
_SHARED = ("distinct", "sum", "filter", "cohort_column", "json_column", "msisdn_column")
_BRM_KEYS = {"file", "source", "target"}
_MATRIX_KEYS = {"service", "table", "deployed", "transform", "stage", "target", "cohort_column", "msisdn_column"}


class ReportConfigError(ConfigError):
    """A report config is malformed; the message is one line naming the file and the field."""


@dataclass(frozen=True)
class Side:
    """Where one layer's copy of a measure lives and what to count there.

    ``store``: postgres | mariadb | mongodb | landing. ``relation``: ``schema.table`` (Postgres),
    ``table`` (MariaDB), collection (Mongo) or landing dataset name. ``distinct``: count distinct
    values of this column (None: count rows). ``filter``: column -> value or list of values.
    """

    store: str
    relation: str
    distinct: str | None = None
    sum: str | None = None
    filter: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    cohort_column: str | None = None
    json_column: str | None = None
    msisdn_column: str = "msisdn"


@dataclass(frozen=True)
class MeasureSpec:
    """One (service, subset) measure: per layer where to count it; ``group_by`` makes one subset per value."""

    report: str
    service: str
    subset: str
    sides: Mapping[str, Side]
    group_by: str | None = None
    rule: str | None = None

    @property
    def label(self) -> str:
        return f"{self.report}:{self.service}:{self.subset}"


@dataclass(frozen=True)
class MatrixEntry:
    """One service table of the ETL stage report; ``sides`` is empty when not deployed here."""

    service: str
    table: str
    sides: Mapping[str, Side] = field(default_factory=dict)

    @property
    def deployed(self) -> bool:
        return bool(self.sides)


def _where(path: Path, at: str) -> str:
    return f"{path.name}: {at}"


def _ident(value: Any, path: Path, at: str, *, dotted: bool = False) -> str:
    parts = value.split(".") if isinstance(value, str) and dotted else [value]
    try:
        if len(parts) > 2:
            raise IdentifierError(f"{value!r} is not a table or schema.table")
        for part in parts:
            validate_identifier(part)
    except IdentifierError as exc:
        raise ReportConfigError(f"{_where(path, at)}: {exc}") from None
    return value


def _text(value: Any, path: Path, at: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ReportConfigError(f"{_where(path, at)}: must be a non-empty string, got {value!r}")
    return value


def _keys(item: Any, allowed: set[str], path: Path, at: str) -> Mapping[str, Any]:
    if not isinstance(item, Mapping):
        raise ReportConfigError(f"{_where(path, at)}: must be a mapping, got {type(item).__name__}")
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise ReportConfigError(f"{_where(path, at)}: unknown key(s) {', '.join(map(str, unknown))}")
    return item


def _filter(value: Any, path: Path, at: str) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping) or not value:
        raise ReportConfigError(f"{_where(path, at)}: must be a mapping of column: value or [values]")
    out = []
    for column, wanted in sorted(value.items()):
        _ident(column, path, f"{at}.{column}")
        values = tuple(wanted) if isinstance(wanted, list) else (wanted,)
        if not values or any(not isinstance(v, (str, int, bool)) for v in values):
            raise ReportConfigError(f"{_where(path, at)}.{column}: values must be strings, integers or booleans")
        out.append((column, values))
    return tuple(out)


def _side(layer: str, raw: Any, shared: Mapping[str, Any], default_store: str, path: Path, at: str) -> Side:
    """A side given as a bare name (defaults from the measure) or as a mapping overriding them."""
    item = {"table": raw} if isinstance(raw, str) else dict(_keys(raw, _SIDE_KEYS, path, at))
    merged = {**{k: shared[k] for k in _SHARED if k in shared}, **item}
    if layer == "source":
        store, name_key = "landing", "dataset"
        if "dataset" not in merged:
            merged["dataset"] = merged.pop("table", None)
    elif layer == "stage":
        store = merged.get("store", default_store)
        if store not in STAGE_STORES:
            raise ReportConfigError(f"{_where(path, at)}.store: must be one of {', '.join(STAGE_STORES)}, got {store!r}")
        name_key = "collection" if store == "mongodb" else "table"
        if store == "mongodb" and "collection" not in merged:
            merged["collection"] = merged.pop("table", None)
    else:
        store, name_key = "postgres", "table"
    if layer != "stage" and "store" in item:
        raise ReportConfigError(f"{_where(path, at)}.store: only the stage side chooses its store")
    relation = _ident(_text(merged.get(name_key), path, f"{at}.{name_key}"), path, f"{at}.{name_key}",
                      dotted=store == "postgres")
    optional = {}
    for key in ("distinct", "sum", "cohort_column", "json_column", "msisdn_column"):
        if merged.get(key) is not None:
            optional[key] = _ident(merged[key], path, f"{at}.{key}", dotted=key == "json_column" and store == "mongodb")
    return Side(store=store, relation=relation, filter=_filter(merged.get("filter"), path, f"{at}.filter"),
                **optional)


def _top_level(data: Mapping[str, Any], key: str, path: Path) -> tuple[str, list[Any]]:
    """The file's default stage store and its non-empty list under ``key``."""
    _keys(data, {"stage_store", key}, path, "top level")
    default_store = data.get("stage_store", "mariadb")
    if default_store not in STAGE_STORES:
        raise ReportConfigError(f"{_where(path, 'stage_store')}: must be one of {', '.join(STAGE_STORES)}")
    raw = data.get(key)
    if not isinstance(raw, list) or not raw:
        raise ReportConfigError(f"{_where(path, key)}: must be a non-empty list")
    return default_store, raw


def load_measures(path: Path | None = None) -> list[MeasureSpec]:
    """The Mini Recon 2 / overall-summary measures, validated (first problem raises)."""
    path = path or config_dir() / MR2_CONFIG
    data = _load(path)
    default_store, raw = _top_level(data, "measures", path)
    out: list[MeasureSpec] = []
    seen: set[tuple[str, str, str]] = set()
    for i, item in enumerate(raw):
        at = f"measures[{i}]"
        item = _keys(item, _MEASURE_KEYS, path, at)
        report = item.get("report")
        if report not in MR2_REPORTS:
            raise ReportConfigError(f"{_where(path, at)}.report: must be one of {', '.join(MR2_REPORTS)}, got {report!r}")
        service, subset = _text(item.get("service"), path, f"{at}.service"), _text(item.get("subset"), path, f"{at}.subset")
        rule = item.get("rule")
        if rule is not None and rule not in RULES:
            raise ReportConfigError(f"{_where(path, at)}.rule: must be one of {', '.join(RULES)}, got {rule!r}")
        group_by = _ident(item["group_by"], path, f"{at}.group_by") if item.get("group_by") is not None else None
        sides = {layer: _side(layer, item[layer], item, default_store, path, f"{at}.{layer}")
                 for layer in LAYERS if item.get(layer) is not None}
        for layer in ("transform", "stage"):
            if layer not in sides:
                raise ReportConfigError(f"{_where(path, at)}.{layer}: is required")
        if rule and any(s.json_column is None for s in sides.values()):
            raise ReportConfigError(f"{_where(path, at)}: rule {rule} needs json_column on every side")
        if report == "pulsa_balance" and any(s.sum is None for s in sides.values()):
            raise ReportConfigError(f"{_where(path, at)}: pulsa_balance needs sum on every side")
        if (report, service, subset) in seen:
            raise ReportConfigError(f"{_where(path, at)}: ({report}, {service}, {subset}) is listed twice")
        seen.add((report, service, subset))
        out.append(MeasureSpec(report, service, subset, sides, group_by, rule))
    return out


def load_matrix(path: Path | None = None) -> list[MatrixEntry]:
    """The ETL stage report's service-table matrix, validated (first problem raises)."""
    path = path or config_dir() / MATRIX_CONFIG
    data = _load(path)
    default_store, raw = _top_level(data, "tables", path)
    out: list[MatrixEntry] = []
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(raw):
        at = f"tables[{i}]"
        item = _keys(item, _MATRIX_KEYS, path, at)
        service, table = _text(item.get("service"), path, f"{at}.service"), _text(item.get("table"), path, f"{at}.table")
        deployed = item.get("deployed", True)
        if not isinstance(deployed, bool):
            raise ReportConfigError(f"{_where(path, at)}.deployed: must be true or false")
        layers = ("transform", "stage", "target")
        sides: dict[str, Side] = {}
        if deployed:
            for layer in layers:
                if item.get(layer) is None:
                    raise ReportConfigError(f"{_where(path, at)}.{layer}: is required unless deployed: false")
                sides[layer] = _side(layer, item[layer], item, default_store, path, f"{at}.{layer}")
        elif any(item.get(layer) is not None for layer in layers):
            raise ReportConfigError(f"{_where(path, at)}: a table marked deployed: false names no locations")
        if (service, table) in seen:
            raise ReportConfigError(f"{_where(path, at)}: ({service}, {table}) is listed twice")
        seen.add((service, table))
        out.append(MatrixEntry(service, table, sides))
    return out


@dataclass(frozen=True)
class BrmSpec:
    """One landed BRM billing extract and the target table holding its accounts (both with a total)."""

    file: str
    source: Side
    target: Side


def load_brm(path: Path | None = None) -> list[BrmSpec]:
    """The Mini Recon 3 BRM extracts, validated (first problem raises)."""
    path = path or config_dir() / MR3_CONFIG
    data = _load(path)
    _, raw = _top_level(data, "brm", path)
    out: list[BrmSpec] = []
    for i, item in enumerate(raw):
        at = f"brm[{i}]"
        item = _keys(item, _BRM_KEYS, path, at)
        name = _ident(_text(item.get("file"), path, f"{at}.file"), path, f"{at}.file")
        sides = {}
        for layer in ("source", "target"):
            if item.get(layer) is None:
                raise ReportConfigError(f"{_where(path, at)}.{layer}: is required")
            sides[layer] = _side(layer, item[layer], {}, "mariadb", path, f"{at}.{layer}")
            if sides[layer].sum is None:
                raise ReportConfigError(f"{_where(path, at)}.{layer}.sum: is required (the balance to total)")
        out.append(BrmSpec(name, sides["source"], sides["target"]))
    if len({b.file for b in out}) != len(out):
        raise ReportConfigError(f"{_where(path, 'brm')}: a file is listed twice")
    return out


def _load(path: Path) -> dict[str, Any]:
    try:
        return load_yaml(path.name, path.parent)
    except ReportConfigError:
        raise
    except ConfigError as exc:
        raise ReportConfigError(str(exc)) from None
