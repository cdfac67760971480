"""Measure one side of a report (a table, collection or landed file) for one batch, where it lives.

Why one module: Mini Recon 2 and 3, the overall summary and the ETL stage report all ask the same
question of different layers: "how many rows (or distinct keys), and what total, in this MSISDN
block, per group?". Postgres and MariaDB answer with one aggregate query
(include/sql/reports/layer_measure.sql); a Mongo stage through the engine's Mongo adapter (one
aggregation pipeline, exact Decimal128 totals); the landing zone (S3 or local) with pyarrow over
the batch's rows, restricted to migratable subscribers and their child rows, because only those
are expected downstream. No Airflow imports: callers hand in live connections via ``Layers``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from recon_operators.engine.adapters.base import AggregateRequest, Measure, SourceError
from recon_operators.engine.adapters.mongo import MongoAdapter
from recon_operators.engine.identifiers import quote_ident
from recon_operators.engine.spec import SideSpec
from recon_operators.errors import one_line
from recon_operators.migration.formulas import app_login_eligible_mongo, app_login_eligible_sql
from recon_operators.migration.landing import BatchRange, read_landing
from recon_operators.migration.mr1_reports import app_login_eligible_json
from recon_operators.migration.report_config import Side
from recon_operators.sql_templates import fragment, ident, render_sql

SUBSCRIBERS = "subscribers"
Counted = dict[str | None, tuple[int, Decimal | None]]  # group value (None: ungrouped) -> (count, total)


class MeasureError(RuntimeError):
    """A side could not be measured; one line naming the layer, the relation and the cause."""


@dataclass
class Layers:
    """Live handles per layer. ``stage`` is a DB-API connection (MariaDB or Postgres stage);
    ``stage_mongo`` a pymongo Database; ``landing_base`` e.g. ``s3://bucket/env``."""

    transform: Any = None
    stage: Any = None
    stage_mongo: Any = None
    target: Any = None
    landing_fs: Any = None
    landing_base: str | None = None
    _landing_cache: dict[tuple[str, str, str, str], pa.Table] = field(default_factory=dict, repr=False)

    def handle(self, layer: str, side: Side) -> Any:
        handle = self.stage_mongo if side.store == "mongodb" else getattr(self, layer, None)
        if layer == "source":
            handle = self.landing_fs
        if handle is None:
            raise MeasureError(f"{layer} {side.relation}: no {side.store} connection was given for this layer")
        return handle

    def landing(self, dataset: str, cohort_id: str, batch: BatchRange) -> pa.Table:
        """The batch's landed rows of one dataset, read once per report."""
        key = (dataset, cohort_id, batch.msisdn_start, batch.msisdn_end)
        if key not in self._landing_cache:
            if self.landing_base is None:
                raise MeasureError(f"source {dataset}: no landing base path was given")
            self._landing_cache[key] = read_landing(self.landing_fs, self.landing_base, cohort_id, dataset, batch)
        return self._landing_cache[key]


def measure(
    layers: Layers,
    layer: str,
    side: Side,
    *,
    cohort_id: str,
    batch: BatchRange,
    group_by: str | None = None,
    rule: str | None = None,
) -> Counted:
    """Count (and total) one side for one batch; errors become one-line ``MeasureError``s."""
    where = f"{layer} {side.store} {side.relation}"
    try:
        if side.store == "landing":
            return _landing_measure(layers, side, cohort_id, batch, group_by, rule)
        handle = layers.handle(layer, side)
        if side.store == "mongodb":
            return _mongo_measure(handle, side, cohort_id, batch, group_by, rule)
        return _sql_measure(handle, side, cohort_id, batch, group_by, rule)
    except MeasureError:
        raise
    except Exception as exc:  # noqa: BLE001 - drivers, Arrow and Mongo each raise their own errors
        raise MeasureError(f"{where}: {one_line(exc)}") from None


def _sql_measure(
    conn: Any, side: Side, cohort_id: str, batch: BatchRange, group_by: str | None, rule: str | None
) -> Counted:
    dialect = "mariadb" if side.store == "mariadb" else "postgres"

    def q(name: str) -> str:
        return quote_ident(name, dialect)

    params: dict[str, Any] = {
        "msisdn_start": batch.msisdn_start,
        "msisdn_end": batch.msisdn_end,
        "msisdn_width": batch.width,
    }
    conditions: list[str] = []
    if side.cohort_column:
        conditions.append(f"AND {q(side.cohort_column)} = %(cohort_id)s")
        params["cohort_id"] = cohort_id
    for i, (column, values) in enumerate(side.filter):
        names = [f"filter_{i}_{j}" for j in range(len(values))]
        params.update(zip(names, values))
        conditions.append(f"AND {q(column)} IN ({', '.join(f'%({n})s' for n in names)})")
    if rule:
        conditions.append(f"AND {app_login_eligible_sql(dialect, side.json_column or '')}")
    sql = render_sql(
        "reports/layer_measure.sql",
        dialect=dialect,
        group=ident(group_by) if group_by else fragment("NULL"),
        count=fragment(f"COUNT(DISTINCT {q(side.distinct)})" if side.distinct else "COUNT(*)"),
        total=fragment(f"SUM({q(side.sum)})" if side.sum else "NULL"),
        relation=ident(side.relation),
        msisdn=ident(side.msisdn_column),
        conditions=fragment("\n   ".join(conditions)),
        group_by=fragment(f"GROUP BY {q(group_by)}" if group_by else ""),
    )
    cur = conn.cursor()
    try:
        cur.execute(sql, params)
        rows = cur.fetchall()
    finally:
        cur.close()
        conn.rollback()  # read only: hold no snapshot open between measures
    out: Counted = {}
    for group, count, total in rows:
        key = None if group is None and not group_by else _text(group)
        out[key] = (int(count or 0), _decimal(total, side))
    return out if group_by else (out or {None: (0, _decimal(None, side))})


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8")
    return str(value)


def _decimal(value: Any, side: Side) -> Decimal | None:
    if side.sum is None:
        return None
    return Decimal(0) if value is None else Decimal(str(value))


def _mongo_measure(
    database: Any, side: Side, cohort_id: str, batch: BatchRange, group_by: str | None, rule: str | None
) -> Counted:
    terms: list[dict[str, Any]] = [{side.msisdn_column: {"$gte": batch.msisdn_start, "$lte": batch.msisdn_end}}]
    if side.cohort_column:
        terms.append({side.cohort_column: cohort_id})
    terms.extend({column: {"$in": list(values)}} for column, values in side.filter)
    if rule:
        terms.append(app_login_eligible_mongo(side.json_column or ""))
    measures = [Measure("n", "count_distinct", side.distinct) if side.distinct else Measure("n", "count")]
    if side.sum:
        measures.append(Measure("s", "sum", side.sum))
    source = MongoAdapter(database, SideSpec(collection=side.relation, filter={"$and": terms}))
    try:
        rows = source.aggregate(AggregateRequest(measures=tuple(measures), group_by=(group_by,) if group_by else ()))
    except SourceError as exc:
        raise MeasureError(f"stage mongodb {side.relation}: {exc}") from None
    return {
        (key[0] if key else None): (int(values["n"]), _decimal(values.get("s"), side)) for key, values in rows.items()
    }


def _landing_measure(
    layers: Layers, side: Side, cohort_id: str, batch: BatchRange, group_by: str | None, rule: str | None
) -> Counted:
    """Landed rows of migratable subscribers (and their child rows) only: what should arrive downstream."""
    subscribers = layers.landing(SUBSCRIBERS, cohort_id, batch)
    subscribers = subscribers.filter(
        pc.and_(pc.equal(subscribers["cohort_id"], cohort_id), pc.fill_null(subscribers["migratable"], False))
    )
    if side.relation == SUBSCRIBERS:
        table = subscribers
    else:
        table = layers.landing(side.relation, cohort_id, batch)
        table = table.filter(pc.is_in(table[side.msisdn_column], value_set=subscribers["msisdn"]))
    if side.cohort_column:
        table = table.filter(pc.equal(table[side.cohort_column], cohort_id))
    for column, values in side.filter:
        table = table.filter(pc.is_in(table[column], value_set=pa.array(values, table.schema.field(column).type)))
    if rule:
        # pyarrow has no JSON kernel: the shared rule in Python, one call per landed app user of the batch.
        eligible = [app_login_eligible_json(doc) for doc in table[side.json_column or ""].to_pylist()]
        table = table.filter(pa.array(eligible, pa.bool_()))
    aggregates: list[tuple[Any, ...]] = [(side.distinct, "count_distinct") if side.distinct else ([], "count_all")]
    if side.sum:
        aggregates.append((side.sum, "sum"))
    keys = [group_by] if group_by else []
    if not keys and table.num_rows == 0:
        return {None: (0, _decimal(None, side))}
    grouped = table.group_by(keys).aggregate(aggregates).to_pylist()
    count_name = f"{side.distinct}_count_distinct" if side.distinct else "count_all"
    return {
        (_text(row[group_by]) if group_by else None): (int(row[count_name]), _decimal(row.get(f"{side.sum}_sum"), side))
        for row in grouped
    }
