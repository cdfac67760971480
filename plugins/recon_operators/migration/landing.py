"""The landing zone's domain: what each legacy dataset looks like, where it lands, how one batch of
it is read, and the MSISDN block (batch) every load and report is scoped by.

Why apart: the production reports (Mini Recon 1's source side, layer measures) read the landed
files; the demo generator writes them and the demo loaders move them on. Both sides share these
definitions, so they live here and the demo imports them, never the other way round.

No Airflow imports. Timestamps are UTC, second precision; amounts ``decimal128(20, 4)``. The first
column of every dataset is its unique key. Files land as
``<base>/<cohort_id>/<dataset>/part-0000.{parquet,csv}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from recon_operators.errors import one_line

__all__ = [
    "MONEY",
    "TIMESTAMP",
    "DatasetInfo",
    "DATASETS",
    "NON_MIGRATABLE",
    "NON_MIGRATABLE_SCHEMA",
    "LoadError",
    "BatchRange",
    "landing_file",
    "read_landing",
    "read_landing_file",
]

MONEY = pa.decimal128(20, 4)
TIMESTAMP = pa.timestamp("s", tz="UTC")


@dataclass(frozen=True)
class DatasetInfo:
    """What a landing dataset is: its legacy source, its unique key and its exact schema."""

    source_system: str
    key: str
    schema: pa.Schema


def _schema(*columns: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(name, kind) for name, kind in columns])


_S, _I64 = pa.string(), pa.int64()  # shorthand for the schemas below
DATASETS: dict[str, DatasetInfo] = {
    "subscribers": DatasetInfo(
        "6D/AMDOCS",
        "msisdn",
        _schema(
            ("msisdn", _S),
            ("imsi", _S),
            ("iccid", _S),
            ("cohort_id", _S),
            ("prefix_id", _S),
            ("prefix", _S),
            ("batch_id", _S),
            ("source_system", _S),
            ("subscriber_status", _S),
            ("plan", _S),
            ("activated_at", TIMESTAMP),
            ("migratable", pa.bool_()),
            ("non_migratable_reason", _S),
        ),
    ),
    "balances": DatasetInfo(
        "CRM",
        "msisdn",
        _schema(
            ("msisdn", _S),
            ("pulsa_balance", MONEY),
            ("ucoin_balance", _I64),
            ("currency", _S),
            ("updated_at", TIMESTAMP),
        ),
    ),
    "addons": DatasetInfo(
        "CRM",
        "addon_id",
        _schema(
            ("addon_id", _S),
            ("msisdn", _S),
            ("addon_code", _S),
            ("quota_mb", _I64),
            ("price", MONEY),
            ("started_at", TIMESTAMP),
            ("expires_at", TIMESTAMP),
        ),
    ),
    "payments": DatasetInfo(
        "MW",
        "payment_id",
        _schema(
            ("payment_id", _S),
            ("msisdn", _S),
            ("amount", MONEY),
            ("currency", _S),
            ("channel", _S),
            ("payment_status", _S),
            ("paid_at", TIMESTAMP),
        ),
    ),
    "promotions": DatasetInfo(
        "MW",
        "promotion_id",
        _schema(
            ("promotion_id", _S),
            ("msisdn", _S),
            ("promo_code", _S),
            ("reward_type", _S),
            ("reward_value", MONEY),
            ("promotion_status", _S),
            ("valid_until", TIMESTAMP),
        ),
    ),
    "app_users": DatasetInfo(
        "MW",
        "user_id",
        _schema(
            ("user_id", _S),
            ("msisdn", _S),
            ("contact_number", _S),
            ("sso_connections", _S),
            ("registered_at", TIMESTAMP),
        ),
    ),
    "inventory": DatasetInfo(
        "CRM",
        "iccid",
        _schema(
            ("iccid", _S),
            ("imsi", _S),
            ("msisdn", _S),
            ("sim_type", _S),
            ("unit_status", _S),
            ("warehouse_code", _S),
            ("issued_at", TIMESTAMP),
        ),
    ),
    "wallets": DatasetInfo(
        "MW",
        "wallet_id",
        _schema(
            ("wallet_id", _S),
            ("user_id", _S),
            ("msisdn", _S),
            ("wallet_status", _S),
            ("balance", MONEY),
            ("currency", _S),
        ),
    ),
    "wallet_ledger": DatasetInfo(
        "MW",
        "entry_id",
        _schema(
            ("entry_id", _S),
            ("wallet_id", _S),
            ("msisdn", _S),
            ("entry_type", _S),
            ("amount", MONEY),
            ("created_at", TIMESTAMP),
        ),
    ),
    "vouchers": DatasetInfo(
        "MW",
        "voucher_id",
        _schema(
            ("voucher_id", _S),
            ("msisdn", _S),
            ("voucher_type", _S),
            ("points", _I64),
            ("voucher_status", _S),
            ("issued_at", TIMESTAMP),
            ("expires_at", TIMESTAMP),
        ),
    ),
    "brm_balances": DatasetInfo(
        "BRM",
        "msisdn",
        _schema(
            ("msisdn", _S),
            ("billing_account_id", _S),
            ("bill_cycle_day", _I64),
            ("balance", MONEY),
            ("credit_limit", MONEY),
            ("last_invoice_amount", MONEY),
            ("currency", _S),
        ),
    ),
}


# The Transformation layer's record of subscribers left behind: one row per landed subscriber
# that is not migratable, with the landed reason (NULL when the flag itself was missing).
NON_MIGRATABLE = "non_migratable_subscribers"
NON_MIGRATABLE_SCHEMA = pa.schema(
    [
        (name, pa.string())
        for name in (
            "msisdn",
            "cohort_id",
            "prefix_id",
            "prefix",
            "batch_id",
            "source_system",
            "subscriber_status",
            "non_migratable_reason",
        )
    ]
)


class LoadError(RuntimeError):
    """A load step failed; the message is one line naming the layer, dataset and cause."""


@dataclass(frozen=True)
class BatchRange:
    """One MSISDN block (inclusive, equal-length numbers): the unit a load replaces."""

    batch_id: str
    msisdn_start: str
    msisdn_end: str

    def __post_init__(self) -> None:
        ok = (
            isinstance(self.msisdn_start, str)
            and isinstance(self.msisdn_end, str)
            and self.msisdn_start.isdigit()
            and self.msisdn_end.isdigit()
            and len(self.msisdn_start) == len(self.msisdn_end)
            and self.msisdn_start <= self.msisdn_end
        )
        if not ok:
            raise ValueError(
                f"batch {self.batch_id}: {self.msisdn_start}..{self.msisdn_end} is not a range "
                "of equal-length digit strings"
            )

    @classmethod
    def of_scope(cls, scope: Mapping[str, Any]) -> BatchRange:
        """The block of a batch scope, as the cohort DAG maps them to its batch tasks."""
        return cls(str(scope["batch_id"]), str(scope["msisdn_start"]), str(scope["msisdn_end"]))

    @property
    def width(self) -> int:
        return len(self.msisdn_start)

    @property
    def size(self) -> int:
        """How many MSISDNs the block holds (the demo generator makes each one a subscriber)."""
        return int(self.msisdn_end) - int(self.msisdn_start) + 1

    def expression(self) -> ds.Expression:
        """Arrow filter: text compare is numeric only at equal length, hence the length term."""
        msisdn = ds.field("msisdn")
        return (msisdn >= self.msisdn_start) & (msisdn <= self.msisdn_end) & (pc.utf8_length(msisdn) == self.width)


def landing_file(filesystem: pafs.FileSystem, base: str, cohort_id: str, dataset: str) -> tuple[str, str]:
    """(path, format) of one dataset's landed file: Parquet preferred, CSV accepted."""
    root = base.removeprefix("s3://").rstrip("/")
    tried: list[str] = []
    for fmt in ("parquet", "csv"):
        path = f"{root}/{cohort_id}/{dataset}/part-0000.{fmt}"
        try:
            info = filesystem.get_file_info(path)
        except (OSError, pa.ArrowException) as exc:
            raise LoadError(f"landing {path}: {one_line(exc)}") from None
        if info.type == pafs.FileType.File:
            return path, fmt
        tried.append(path)
    raise LoadError(f"landing file for {dataset} is missing: {tried[1]} (or {tried[0]})")


def read_landing(filesystem: pafs.FileSystem, base: str, cohort_id: str, dataset: str, batch: BatchRange) -> pa.Table:
    """One dataset's batch from the landing zone, typed as ``DATASETS`` declares it."""
    path, fmt = landing_file(filesystem, base, cohort_id, dataset)
    return read_landing_file(filesystem, path, dataset, batch, fmt=fmt)


def read_landing_file(
    filesystem: pafs.FileSystem, path: str, dataset: str, batch: BatchRange, fmt: str | None = None
) -> pa.Table:
    """The batch's rows of one landed file (CSV or Parquet, by suffix unless ``fmt``), typed as
    ``DATASETS`` declares the dataset; any read problem is one ``LoadError`` line naming the file."""
    arrow = DATASETS[dataset].schema
    path = path.removeprefix("s3://")
    fmt = fmt or path.rsplit(".", 1)[-1].lower()
    try:
        if fmt == "csv":
            convert = pacsv.ConvertOptions(
                column_types=arrow, strings_can_be_null=True, quoted_strings_can_be_null=False
            )
            fmt_obj: Any = ds.CsvFileFormat(
                parse_options=pacsv.ParseOptions(newlines_in_values=True), convert_options=convert
            )
            source = ds.dataset(path, format=fmt_obj, filesystem=filesystem, schema=arrow)
        elif fmt == "parquet":
            source = ds.dataset(path, format="parquet", filesystem=filesystem)
        else:
            raise LoadError(f"landing {path}: format must be csv or parquet")
        table = source.to_table(filter=batch.expression())
        return table.select(arrow.names).cast(arrow)  # Parquet holds seconds as milliseconds
    except (OSError, pa.ArrowException, KeyError) as exc:
        raise LoadError(f"landing {path}: {one_line(exc)}") from None
