"""The one fault system: declared corruptions that wrap a real step, to prove a check catches each.

Production code knows nothing of it. A fault is declared in a DAG run's ``faults`` param (tests
and drills trigger it through the DAG, never by patching code) and applied around a step that
ran for real:

* cohort loads (demo loaders): ``with_faults`` wraps a load step so the batch it hands from one
  layer to the next is corrupted on its way (``apply_faults``: drop, drift, flip), inside the
  step's own transaction; the keys touched are reported::

      [{"stage": "stage", "kind": "drop", "dataset": "subscribers", "n": 3}]

* batch loads: after the real worker or MERGE ran, its rows are altered in the database
  (``after_worker``, ``after_merge``; SQL in demo/sql/faults), while the step's own counts say
  nothing happened::

      [{"kind": "drop_rows", "worker": "w02", "n": 2}]          worker's rows vanish after it wrote them
      [{"kind": "shift_amount", "worker": "w01", "delta": "0.01"}]  1 row's amount changed afterwards
      [{"kind": "merge_loses_rows", "n": 3}]                    3 merged rows vanish from the final table

The batch load DAG takes them when built with ``BATCH_DRILL`` (its operators wrapped here).
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Iterable, Mapping, MutableSequence, Sequence
from dataclasses import asdict, dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from recon_operators.demo.generator import drift_amounts, drop_rows, flip_status
from recon_operators.migration.landing import DATASETS

FAULT_KINDS = ("drop", "drift", "flip")
FAULT_STAGES = ("transform", "stage", "target")


class FaultError(ValueError):
    """A fault declaration is malformed; the message names which one and why."""


def fault_list(raw: Any) -> list[Any]:
    """The run's ``faults`` param as a list; a templated ``{{ params.faults }}`` arrives as its text form."""
    if isinstance(raw, str):
        try:
            raw = ast.literal_eval(raw.strip() or "[]")
        except (ValueError, SyntaxError):
            raise FaultError(f"faults must be a list of mappings, got {raw[:80]!r}") from None
    if raw is None:
        return []
    if not isinstance(raw, (list, tuple)):
        raise FaultError(f"faults must be a list of mappings, got {type(raw).__name__}")
    return list(raw)


# ------------------------------------------------------------------------------- cohort loads


@dataclass(frozen=True)
class Fault:
    """One declared corruption of a load: which layer, what kind, which dataset, how many rows."""

    stage: str
    kind: str
    dataset: str
    n: int = 1
    column: str | None = None
    delta: str | None = None
    to_value: str | None = None
    prefix: str | None = None
    seed: int = 0

    @classmethod
    def from_conf(cls, items: Any) -> list[Fault]:
        """Faults from DAG params/config, rejected early with one clear message per problem."""
        known = {f.name for f in fields(cls)}
        out: list[Fault] = []
        for i, item in enumerate(fault_list(items)):
            where = f"fault #{i + 1}"
            if not isinstance(item, Mapping):
                raise FaultError(f"{where}: must be a mapping, got {type(item).__name__}")
            unknown = sorted(set(item) - known)
            if unknown:
                raise FaultError(f"{where}: unknown field(s) {', '.join(unknown)}")
            for required in ("stage", "kind", "dataset"):
                if not item.get(required):
                    raise FaultError(f"{where}: {required} is required")
            stage, kind, dataset = str(item["stage"]), str(item["kind"]), str(item["dataset"])
            if stage not in FAULT_STAGES:
                raise FaultError(f"{where}: stage {stage!r} must be one of {', '.join(FAULT_STAGES)}")
            if kind not in FAULT_KINDS:
                raise FaultError(f"{where}: kind {kind!r} must be one of {', '.join(FAULT_KINDS)}")
            if dataset not in DATASETS:
                raise FaultError(f"{where}: dataset {dataset!r} must be one of {', '.join(DATASETS)}")
            try:
                n, seed = int(item.get("n", 1)), int(item.get("seed", 0))
            except (TypeError, ValueError):
                raise FaultError(f"{where}: n and seed must be integers") from None
            if n < 0:
                raise FaultError(f"{where}: n must be >= 0, got {n}")
            fault = cls(
                stage,
                kind,
                dataset,
                n,
                _opt(item, "column"),
                _opt(item, "delta"),
                _opt(item, "to_value"),
                _opt(item, "prefix"),
                seed,
            )
            fault._check(where)
            out.append(fault)
        return out

    def _check(self, where: str) -> None:
        schema = DATASETS[self.dataset].schema
        if self.kind in ("drift", "flip"):
            if not self.column:
                raise FaultError(f"{where}: a {self.kind} fault needs a column")
            if self.column not in schema.names:
                raise FaultError(
                    f"{where}: column {self.column!r} is not in {self.dataset} ({', '.join(schema.names)})"
                )
        if self.kind == "drift":
            kind = schema.field(self.column).type
            if not (pa.types.is_decimal(kind) or pa.types.is_integer(kind)):
                raise FaultError(f"{where}: column {self.column!r} ({kind}) is not numeric")
            _decimal(self.delta, where)
        if self.kind == "flip" and self.to_value is None:
            raise FaultError(f"{where}: a flip fault needs to_value")
        if self.prefix is not None and not self.prefix.isdigit():
            raise FaultError(f"{where}: prefix {self.prefix!r} must be digits")


def _opt(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    return None if value is None else str(value)


def _decimal(value: str | None, where: str) -> Decimal:
    try:
        result = Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        result = None
    if result is None or not result.is_finite():
        raise FaultError(f"{where}: delta {value!r} must be a decimal number")
    return result


def _holds_prefix(table: pa.Table, prefix: str) -> bool:
    if "msisdn" not in table.column_names:
        raise ValueError(f"a fault for prefix {prefix} needs an msisdn column")
    return bool(pc.any(pc.fill_null(pc.starts_with(table["msisdn"], prefix), False)).as_py())


def apply_faults(
    table: pa.Table, dataset: str, stage: str, faults: Sequence[Fault]
) -> tuple[pa.Table, list[dict[str, Any]]]:
    """Apply the faults declared for this dataset at this stage; report the keys each one touched."""
    key = DATASETS[dataset].key if dataset in DATASETS else None
    injected: list[dict[str, Any]] = []
    for fault in faults:
        if fault.stage != stage or fault.dataset != dataset:
            continue
        where = f"{stage} fault {fault.kind} on {dataset}"
        if fault.prefix is not None and not _holds_prefix(table, fault.prefix):
            continue  # loads run per batch: a batch of another prefix is not this fault's target
        if fault.column is not None and fault.column not in table.column_names:
            raise ValueError(f"{where}: column {fault.column!r} is not in the table")
        if fault.kind == "drop":
            table, keys = drop_rows(table, fault.n, seed=fault.seed, where_prefix=fault.prefix, key=key)
        elif fault.kind == "drift":
            table, keys = drift_amounts(
                table,
                fault.column or "",
                _decimal(fault.delta, where),
                fault.n,
                seed=fault.seed,
                where_prefix=fault.prefix,
                key=key,
            )
        elif fault.kind == "flip":
            if fault.column is None or fault.to_value is None:
                raise ValueError(f"{where}: needs column and to_value")
            table, keys = flip_status(
                table, fault.column, fault.to_value, fault.prefix, fault.n, seed=fault.seed, key=key
            )
        else:
            raise ValueError(f"{where}: unknown kind")
        injected.append({**asdict(fault), "keys": keys})
    return table, injected


def with_faults(
    step: Callable[..., dict[str, int]],
    faults: Sequence[Fault],
    injected: MutableSequence[dict[str, Any]] | None = None,
) -> Callable[..., dict[str, int]]:
    """The load step, with the faults declared for its stage applied to every batch it hands on.

    The loaders know nothing of faults: the wrapper hands the step a ``through`` that corrupts each
    dataset's rows, and each fault's report (with the keys it touched) goes to ``injected``."""
    from recon_operators.demo import loaders

    stages = {loaders.load_transform: "transform", loaders.load_stage: "stage", loaders.load_target: "target"}
    if step not in stages:
        raise ValueError(f"faults wrap a demo load step ({', '.join(f.__name__ for f in stages)}), not {step!r}")
    stage = stages[step]

    def through(dataset: str, table: pa.Table) -> pa.Table:
        table, report = apply_faults(table, dataset, stage, faults)
        if injected is not None:
            injected.extend(report)
        return table

    @functools.wraps(step)
    def faulted(**kwargs: Any) -> dict[str, int]:
        return step(**kwargs, through=through)

    return faulted


# -------------------------------------------------------------------------------- batch loads

BATCH_FAULT_KINDS = ("drop_rows", "shift_amount", "merge_loses_rows")
WORKER_FAULTS = ("drop_rows", "shift_amount")
_FIELDS = {"kind", "worker", "n", "delta"}


@dataclass(frozen=True)
class BatchFault:
    kind: str
    n: int = 1
    worker: str | None = None  # worker faults: the worker id (w01, w02...)
    delta: Decimal = Decimal("0.01")  # shift_amount: added to the amount

    def hits(self, worker_id: str) -> bool:
        return self.kind in WORKER_FAULTS and self.worker == worker_id


def parse_faults(raw: Any) -> list[BatchFault]:
    """Batch load faults from the run's params."""
    return [_fault(item, f"fault #{i + 1}") for i, item in enumerate(fault_list(raw))]


def _fault(item: Any, where: str) -> BatchFault:
    if not isinstance(item, Mapping):
        raise FaultError(f"{where}: must be a mapping, got {type(item).__name__}")
    unknown = sorted(set(item) - _FIELDS)
    if unknown:
        raise FaultError(f"{where}: unknown field(s) {', '.join(unknown)} (allowed: {', '.join(sorted(_FIELDS))})")
    kind = item.get("kind")
    if kind not in BATCH_FAULT_KINDS:
        raise FaultError(f"{where}: kind must be one of {', '.join(BATCH_FAULT_KINDS)}, got {kind!r}")
    try:
        n = int(item.get("n", 1))
        delta = Decimal(str(item.get("delta", "0.01")))
    except (TypeError, ValueError, InvalidOperation):
        raise FaultError(f"{where}: n must be an integer and delta a number") from None
    if n < 0:
        raise FaultError(f"{where}: n must be >= 0, got {n}")
    worker = item.get("worker")
    if kind in WORKER_FAULTS and not worker:
        raise FaultError(f'{where}: {kind} needs the worker it hits (e.g. "w01")')
    return BatchFault(kind=kind, n=n, worker=str(worker) if worker else None, delta=delta)


def merge_loss(faults: Iterable[BatchFault]) -> int:
    """How many merged rows vanish from the final table after the MERGE (0 without that fault)."""
    return sum(f.n for f in faults if f.kind == "merge_loses_rows")


def _batch_sql(name: str, **parts: Any) -> Any:
    from psycopg2 import sql

    from recon_operators.paths import read_sql

    return sql.SQL(read_sql(f"faults/{name}", package="recon_operators.demo")).format(**parts)


def after_worker(
    conn: Any, tables: Any, layout: Any, run_id: str, worker_id: str, faults: Iterable[BatchFault]
) -> None:
    """Corrupt what one worker just wrote to staging, as its faults declare (none: no change)."""
    from psycopg2 import sql

    from recon_operators.store.db import transaction

    staging = tables.ident(tables.staging)
    with transaction(conn) as cur:
        for fault in (f for f in faults if f.hits(worker_id)):
            params = {"run_id": run_id, "worker_id": worker_id, "n": fault.n}
            if fault.kind == "drop_rows":
                cur.execute(_batch_sql("drop_worker_rows.sql", staging=staging), params)
            elif fault.kind == "shift_amount" and layout.amount_field:
                cur.execute(
                    _batch_sql("shift_worker_amount.sql", staging=staging, amount=sql.Identifier(layout.amount_field)),
                    {**params, "delta": fault.delta},
                )


def after_merge(conn: Any, tables: Any, layout: Any, run_id: str, faults: Iterable[BatchFault]) -> None:
    """Make rows the MERGE just upserted vanish from the final table, as the faults declare."""
    from psycopg2 import sql

    from recon_operators.store.db import transaction

    lose = merge_loss(faults)
    if not lose:
        return
    keys = sql.SQL(", ").join(sql.Identifier(k) for k in layout.key)
    with transaction(conn) as cur:
        cur.execute(
            _batch_sql("drop_merged_rows.sql", final=tables.ident(tables.final), key_columns=keys),
            {"run_id": run_id, "n": lose},
        )
