"""Report configs from include/config/reports: which measures Mini Recon 2 and the overall summary
take, and where each service table of the ETL stage report lives per layer.

Why strict: these files decide which numbers a gate sees. A typo (unknown key, wrong store, a
table name that is not an identifier) must stop the report naming the file, line and field of
every problem, never measure the wrong thing quietly. Identifiers are validated here and quoted where the
SQL is built; filter values are bound parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from recon_operators.config import ConfigError, ConfigModel, Located, load_config
from recon_operators.config.fields import Identifier, Text
from recon_operators.engine.identifiers import IdentifierError, validate_identifier
from recon_operators.paths import config_dir

LAYERS = ("source", "transform", "stage", "target")
STAGE_STORES = ("mariadb", "mongodb", "postgres")
MR2_REPORTS = (
    "transformed_msisdn",
    "status_comparison",
    "plan_validation",
    "app_login",
    "addon_validation",
    "pulsa_balance",
    "subscriber_promotion",
    "payment_sub_count",
)
RULES = ("app_login",)
MR2_CONFIG = "reports/mini_recon_2.yaml"
MATRIX_CONFIG = "reports/etl_stage_matrix.yaml"
MR3_CONFIG = "reports/mini_recon_3.yaml"
_SHARED = ("distinct", "sum", "filter", "cohort_column", "json_column", "msisdn_column")

StageStore = Literal[STAGE_STORES]  # type: ignore[valid-type]


class _Counted(ConfigModel):
    """What to count at a location; a measure's values are its sides' defaults."""

    distinct: str | None = Field(None, description="count distinct values of this column (omit: count rows)")
    sum: str | None = Field(None, description="a column to total")
    filter: dict[str, Any] | None = Field(None, description="column -> value or [values], bound as parameters")
    cohort_column: str | None = Field(None, description="a column holding the cohort id")
    json_column: str | None = Field(None, description="the JSON column a rule reads")
    msisdn_column: str | None = Field(None, description="the column that scopes a batch (default msisdn)")


class Location(_Counted):
    """One layer's copy: a bare name (landing dataset, schema.table, stage table) or this mapping."""

    table: str | None = None
    collection: str | None = None
    dataset: str | None = None
    store: StageStore | None = Field(None, description="stage side only; default: the file's stage_store")


Where = Annotated[Location, BeforeValidator(lambda v: {"table": v} if isinstance(v, str) else v)]


class Measure(_Counted):
    """One (service, subset) measure of Mini Recon 2 and the overall summary."""

    report: Literal[MR2_REPORTS]  # type: ignore[valid-type]
    service: Text
    subset: Text
    group_by: Identifier | None = Field(None, description="one subset per value of this column")
    rule: Literal[RULES] | None = None  # type: ignore[valid-type]
    source: Where | None = None
    transform: Where
    stage: Where
    target: Where | None = None


class MeasuresFile(ConfigModel):
    """include/config/reports/mini_recon_2.yaml: the measures Mini Recon 2 and the overall summary take."""

    stage_store: StageStore = "mariadb"
    measures: list[Measure] = Field(min_length=1)


class MatrixTable(ConfigModel):
    """One service table of the ETL stage matrix; ``deployed: false`` names no locations."""

    service: Text
    table: Text
    deployed: bool = True
    transform: Where | None = None
    stage: Where | None = None
    target: Where | None = None
    cohort_column: str | None = None
    msisdn_column: str | None = None


class MatrixFile(ConfigModel):
    """include/config/reports/etl_stage_matrix.yaml: where each service table lives per layer."""

    stage_store: StageStore = "mariadb"
    tables: list[MatrixTable] = Field(min_length=1)


class BrmExtract(ConfigModel):
    """One landed BRM billing extract and the target table holding its accounts (both with a sum)."""

    file: Identifier
    source: Where
    target: Where


class BrmFile(ConfigModel):
    """include/config/reports/mini_recon_3.yaml: the BRM extracts of Mini Recon 3 data prep."""

    stage_store: StageStore = "mariadb"
    brm: list[BrmExtract] = Field(min_length=1)


class ReportConfigError(ConfigError):
    """A report config is malformed; ``problems`` names each with file, line and field."""

    kind = "report config"


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


@dataclass(frozen=True)
class BrmSpec:
    """One landed BRM billing extract and the target table holding its accounts (both with a total)."""

    file: str
    source: Side
    target: Side


class _Problems:
    """Collects located problems while building; raises them all at the end."""

    def __init__(self) -> None:
        self.found: list[tuple[tuple[Any, ...], str]] = []

    def add(self, loc: tuple[Any, ...], message: str) -> None:
        self.found.append((loc, message))

    def ident(self, value: str, loc: tuple[Any, ...], *, dotted: bool = False) -> str:
        parts = value.split(".") if dotted else [value]
        try:
            if len(parts) > 2:
                raise IdentifierError(f"{value!r} is not a table or schema.table")
            for part in parts:
                validate_identifier(part)
        except IdentifierError as exc:
            self.add(loc, str(exc))
        return value

    def raise_any(self) -> None:
        if self.found:
            raise Located(self.found)


def _filter(
    value: dict[str, Any] | None, loc: tuple[Any, ...], problems: _Problems
) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    if value is None:
        return ()
    if not value:
        problems.add(loc, "must be a mapping of column: value or [values]")
    out = []
    for column, wanted in sorted(value.items()):
        problems.ident(column, (*loc, column))
        values = tuple(wanted) if isinstance(wanted, list) else (wanted,)
        if not values or any(not isinstance(v, (str, int, bool)) or isinstance(v, float) for v in values):
            problems.add((*loc, column), "values must be strings, integers or booleans")
        out.append((column, values))
    return tuple(out)


def _side(
    layer: str,
    given: Location,
    shared: _Counted | MatrixTable | None,
    default_store: str,
    loc: tuple[Any, ...],
    problems: _Problems,
) -> Side:
    """A side: the location's own values over the measure's (``shared``) defaults. An inherited
    value is checked once where it is written (``_check_shared``), not again on every side."""
    own = given.model_dump(exclude_none=True)
    merged = {**{k: v for k in _SHARED if (v := getattr(shared, k, None)) is not None}, **own}
    silent = _Problems()
    if layer == "source":
        store, name_key = "landing", "dataset"
        merged.setdefault("dataset", merged.pop("table", None))
    elif layer == "stage":
        store = merged.get("store") or default_store
        name_key = "collection" if store == "mongodb" else "table"
        if store == "mongodb":
            merged.setdefault("collection", merged.pop("table", None))
    else:
        store, name_key = "postgres", "table"
    if layer != "stage" and given.store is not None:
        problems.add((*loc, "store"), "only the stage side chooses its store")
    relation = merged.get(name_key)
    if not relation:
        problems.add((*loc, name_key), "required field is missing")
        relation = ""
    else:
        problems.ident(relation, (*loc, name_key), dotted=store == "postgres")
    optional = {
        key: (problems if key in own or key == "json_column" else silent).ident(
            merged[key], (*loc, key), dotted=key == "json_column" and store == "mongodb"
        )
        for key in ("distinct", "sum", "cohort_column", "json_column", "msisdn_column")
        if merged.get(key)
    }
    flt = _filter(merged.get("filter"), (*loc, "filter"), problems if "filter" in own else silent)
    return Side(store=store, relation=relation, filter=flt, **optional)


def _check_shared(item: _Counted | MatrixTable, loc: tuple[Any, ...], problems: _Problems) -> None:
    """The values a measure (or matrix row) gives its sides, checked once where they are written."""
    for key in ("distinct", "sum", "cohort_column", "msisdn_column"):
        if getattr(item, key, None):
            problems.ident(getattr(item, key), (*loc, key))
    _filter(getattr(item, "filter", None), (*loc, "filter"), problems)


def _measures(parsed: MeasuresFile) -> list[MeasureSpec]:
    problems, out, seen = _Problems(), [], set()
    for i, item in enumerate(parsed.measures):
        loc = ("measures", i)
        _check_shared(item, loc, problems)
        sides = {
            layer: _side(layer, getattr(item, layer), item, parsed.stage_store, (*loc, layer), problems)
            for layer in LAYERS
            if getattr(item, layer) is not None
        }
        if item.rule and any(s.json_column is None for s in sides.values()):
            problems.add(loc, f"rule {item.rule} needs json_column on every side")
        if item.report == "pulsa_balance" and any(s.sum is None for s in sides.values()):
            problems.add(loc, "pulsa_balance needs sum on every side")
        if (item.report, item.service, item.subset) in seen:
            problems.add(loc, f"({item.report}, {item.service}, {item.subset}) is listed twice")
        seen.add((item.report, item.service, item.subset))
        out.append(MeasureSpec(item.report, item.service, item.subset, sides, item.group_by, item.rule))
    problems.raise_any()
    return out


def _matrix(parsed: MatrixFile) -> list[MatrixEntry]:
    problems, out, seen = _Problems(), [], set()
    layers = ("transform", "stage", "target")
    for i, item in enumerate(parsed.tables):
        loc = ("tables", i)
        _check_shared(item, loc, problems)
        sides: dict[str, Side] = {}
        for layer in layers if item.deployed else ():
            if getattr(item, layer) is None:
                problems.add((*loc, layer), "is required unless deployed: false")
            else:
                sides[layer] = _side(layer, getattr(item, layer), item, parsed.stage_store, (*loc, layer), problems)
        if not item.deployed and any(getattr(item, layer) is not None for layer in layers):
            problems.add(loc, "a table marked deployed: false names no locations")
        if (item.service, item.table) in seen:
            problems.add(loc, f"({item.service}, {item.table}) is listed twice")
        seen.add((item.service, item.table))
        out.append(MatrixEntry(item.service, item.table, sides))
    problems.raise_any()
    return out


def _brm(parsed: BrmFile) -> list[BrmSpec]:
    problems, out = _Problems(), []
    for i, item in enumerate(parsed.brm):
        sides = {
            layer: _side(layer, getattr(item, layer), None, "mariadb", ("brm", i, layer), problems)
            for layer in ("source", "target")
        }
        for layer, side in sides.items():
            if side.sum is None:
                problems.add(("brm", i, layer, "sum"), "is required (the balance to total)")
        out.append(BrmSpec(item.file, sides["source"], sides["target"]))
    if len({b.file for b in out}) != len(out):
        problems.add(("brm",), "a file is listed twice")
    problems.raise_any()
    return out


def load_measures(path: Path | None = None) -> list[MeasureSpec]:
    """The Mini Recon 2 / overall-summary measures, validated (every problem raises at once)."""
    return load_config(
        MeasuresFile, path or config_dir() / MR2_CONFIG, "report config", build=_measures, error=ReportConfigError
    )


def load_matrix(path: Path | None = None) -> list[MatrixEntry]:
    """The ETL stage report's service-table matrix, validated (every problem raises at once)."""
    return load_config(
        MatrixFile, path or config_dir() / MATRIX_CONFIG, "report config", build=_matrix, error=ReportConfigError
    )


def load_brm(path: Path | None = None) -> list[BrmSpec]:
    """The Mini Recon 3 BRM extracts, validated (every problem raises at once)."""
    return load_config(BrmFile, path or config_dir() / MR3_CONFIG, "report config", build=_brm, error=ReportConfigError)
