"""Export: the subscribers of both systems (or the mode's one), merged per uid, to CSV or Parquet.

Each side is filtered where it lives (a Query of Cloud's status or planId index, a WHERE on
Legacy's indexed columns). A uid found by the filter on one side only is then read by key from
the other side, so a subscriber whose status differs between the systems shows as a conflict,
not as "cloud only". Values are Cloud's where Cloud has the subscriber, else Legacy's; each row
says where it was found and which fields differ (``syncStatus``: IN_SYNC, CLOUD_ONLY,
LEGACY_ONLY, CONFLICT). PII is masked unless the job asks for it in clear.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recon_operators.engine.adapters.sql import literal
from recon_operators.subscribers.model import ATTRIBUTES, PII_ATTRIBUTES, Record, mask_field

EXTRA_COLUMNS = ("inCloud", "inLegacy", "syncStatus", "conflictFields")


@dataclass
class ExportResult:
    path: Path
    rows: int
    by_status: dict[str, int] = field(default_factory=dict)


def _table(records: Iterable[Record]) -> Any:
    import pyarrow as pa

    rows = list(records)
    return pa.table({name: pa.array([r.get(name) for r in rows], type=pa.string()) for name in ATTRIBUTES})


def _side(store: Any, filters: Mapping[str, str]) -> dict[str, Record]:
    return {} if store is None else {r["uid"]: r for page in store.pages(filters) for r in page}


def _q(name: str) -> str:
    return '"' + name + '"'


def merged_table(cloud: Any, legacy: Any, filters: Mapping[str, str]) -> Any:
    """The merged Arrow table (unmasked): one row per uid either side holds under the filters."""
    import duckdb

    cloud_rows, legacy_rows = _side(cloud, filters), _side(legacy, filters)
    if cloud is not None and legacy is not None:
        cloud_rows.update(cloud.get_many([u for u in legacy_rows if u not in cloud_rows]))
        legacy_rows.update(legacy.get_many([u for u in cloud_rows if u not in legacy_rows]))
    duck = duckdb.connect()
    try:
        duck.register("cloud_side", _table(cloud_rows.values()))
        duck.register("legacy_side", _table(legacy_rows.values()))
        values = ", ".join(f"coalesce(c.{_q(a)}, l.{_q(a)}) AS {_q(a)}" for a in ATTRIBUTES)
        differs = ", ".join(f"CASE WHEN c.{_q(a)} IS DISTINCT FROM l.{_q(a)} THEN {literal(a)} END" for a in ATTRIBUTES)
        return duck.sql(f"""
            WITH joined AS (
                SELECT {values}, c.uid IS NOT NULL AS inCloud, l.uid IS NOT NULL AS inLegacy,
                       concat_ws(',', {differs}) AS conflicts
                  FROM cloud_side c FULL OUTER JOIN legacy_side l ON c.uid = l.uid)
            SELECT * EXCLUDE (conflicts),
                   CASE WHEN NOT inLegacy THEN 'CLOUD_ONLY' WHEN NOT inCloud THEN 'LEGACY_ONLY'
                        WHEN conflicts <> '' THEN 'CONFLICT' ELSE 'IN_SYNC' END AS syncStatus,
                   CASE WHEN inCloud AND inLegacy THEN nullif(conflicts, '') END AS conflictFields
              FROM joined ORDER BY uid""").to_arrow_table()
    finally:
        duck.close()


def masked_table(table: Any) -> Any:
    import pyarrow as pa

    for name in PII_ATTRIBUTES:
        index = table.schema.get_field_index(name)
        column = [mask_field(name, v) for v in table.column(name).to_pylist()]
        table = table.set_column(index, name, pa.array(column, type=pa.string()))
    return table


def export(cloud: Any, legacy: Any, filters: Mapping[str, str], fmt: str, path: Path, *, unmask: bool) -> ExportResult:
    """Write the merged export to ``path`` (``fmt``: csv or parquet)."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = merged_table(cloud, legacy, filters)
    if not unmask:
        table = masked_table(table)
    if fmt == "parquet":
        pq.write_table(table, path)
    else:
        pacsv.write_csv(table, path)
    statuses = table.column("syncStatus").to_pylist()
    return ExportResult(path=path, rows=table.num_rows, by_status={s: statuses.count(s) for s in sorted(set(statuses))})


def publish(s3: Any, bucket: str, key: str, path: Path, expiry_seconds: int) -> str:
    """Upload the export and return a pre-signed GET URL valid for ``expiry_seconds``."""
    s3.upload_file(str(path), bucket, key)
    return s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expiry_seconds)
