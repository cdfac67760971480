"""Deterministic synthetic source data for a telecom migration: the demo's legacy landing files.

Why it exists: the demo and the tests need legacy data whose every count and total is known in
advance, so a gate's verdict can be checked exactly. ``generate`` builds one cohort's landing
tables from a seed; the fault helpers then corrupt a *copy* that a LOAD step writes (never the
source) and report exactly which keys they touched.

Determinism: every random value is a counter-based hash of (seed, column stream, row key), where
the row key is the MSISDN (and a child ordinal). So the same seed gives byte-identical files, and
a subscriber's rows do not depend on which other batches the spec lists. All work is columnar
(pyarrow compute); no Python loop runs per row. Amounts are built as integer ten-thousandths and
viewed as ``decimal128(20, 4)``, so no binary float ever touches money.

Each batch is an allocated block: every MSISDN in ``msisdn_start..msisdn_end`` (inclusive) is one
subscriber. Timestamps are UTC, second precision. The first column of every dataset is its unique
key (what the fault helpers report). "CRM" below means the subscriber's own legacy CRM (6D or
AMDOCS, as in ``subscribers.source_system``); MW is the app middleware; BRM is billing.

Datasets (name: landing source system; columns):

================  ==============  ===============================================================
dataset           source          columns
================  ==============  ===============================================================
subscribers       6D or AMDOCS    msisdn, imsi (15 digits, MCC 510 MNC 10), iccid, cohort_id,
                  (per row)       prefix_id, prefix, batch_id, source_system, subscriber_status
                                  (ACTIVE/GRACE/SUSPENDED/BARRED/TERMINATED), plan, activated_at,
                                  migratable, non_migratable_reason (null when migratable)
balances          CRM             msisdn, pulsa_balance (decimal 20,4; 0 when TERMINATED),
                                  ucoin_balance (int points), currency, updated_at
addons            CRM             addon_id, msisdn, addon_code, quota_mb, price, started_at,
                                  expires_at  (0..3 per subscriber)
payments          MW              payment_id, msisdn, amount, currency, channel, payment_status,
                                  paid_at  (0..4 per subscriber)
promotions        MW              promotion_id, msisdn, promo_code, reward_type, reward_value,
                                  promotion_status, valid_until  (0..2 per subscriber)
app_users         MW              user_id, msisdn, contact_number, sso_connections (JSON text),
                                  registered_at  (about APP_USER_RATE of subscribers)
inventory         CRM             iccid, imsi, msisdn, sim_type, unit_status (ASSIGNED/RETIRED),
                                  warehouse_code, issued_at  (one SIM unit per subscriber)
wallets           MW              wallet_id, user_id, msisdn, wallet_status, balance, currency
                                  (balance = credits - debits of its ledger entries)
wallet_ledger     MW              entry_id, wallet_id, msisdn, entry_type (CREDIT/DEBIT), amount
                                  (always positive), created_at  (1..5 per wallet)
vouchers          MW              voucher_id, msisdn, voucher_type (LOYALTY/PROMO/COMPENSATION),
                                  points, voucher_status (OPEN/REDEEMED/EXPIRED), issued_at,
                                  expires_at  (0..3 per subscriber)
brm_balances      BRM             msisdn, billing_account_id, bill_cycle_day, balance (equals
                                  balances.pulsa_balance), credit_limit, last_invoice_amount,
                                  currency
================  ==============  ===============================================================

``sso_connections`` always has the canonical shape (``json.dumps`` formatting, keys in this
order): ``{"sso": {"google": {"id": ".."} | null, "facebook": .. | null, "apple": .. | null},
"external_operator_number": "62857.." | "" | null}``. Each provider is present independently
with the share in ``SSO_SHARES``; a user with no provider has only an external operator number
with share ``EXTERNAL_ONLY_RATE``; the rest have none (``EMPTY_EXTERNAL_RATE`` of them as ``""``,
the others as null). A user is app-login eligible when any provider is present or the external
number is non-empty: ``expected_app_login_share()``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from recon_operators.migration.landing import DATASETS, MONEY, TIMESTAMP, BatchRange

__all__ = [
    "PrefixSpec",
    "CohortSpec",
    "STATUS_WEIGHTS",
    "APP_USER_RATE",
    "SSO_SHARES",
    "EXTERNAL_ONLY_RATE",
    "EMPTY_EXTERNAL_RATE",
    "NON_MIGRATABLE_REASONS",
    "PLAN_WEIGHTS",
    "WALLET_RATE",
    "expected_app_login_share",
    "validate",
    "generate",
    "drop_rows",
    "drift_amounts",
    "flip_status",
    "write_landing",
]

_UNITS_PER_CENT = 100  # amounts are integer ten-thousandths before becoming decimals

_SAFE_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_DIGITS = re.compile(r"^[1-9][0-9]{7,14}$")
_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_AS_OF = int(datetime(2026, 1, 31, tzinfo=UTC).timestamp())  # fixed: never the wall clock
_ACTIVATION_FROM = int(datetime(2012, 1, 1, tzinfo=UTC).timestamp())
_DAY = 86_400

# Shares (documented; tests hold the generator to them within sampling tolerance).
STATUS_WEIGHTS = {"ACTIVE": 0.80, "GRACE": 0.05, "SUSPENDED": 0.07, "BARRED": 0.03, "TERMINATED": 0.05}
PLAN_WEIGHTS = {
    "PREPAID_BASIC": 0.40,
    "PREPAID_COMBO": 0.25,
    "PREPAID_UNLIMITED": 0.15,
    "POSTPAID_50GB": 0.12,
    "POSTPAID_100GB": 0.08,
}
SOURCE_SYSTEM_WEIGHTS = {"6D": 0.60, "AMDOCS": 0.40}
NON_MIGRATABLE_REASONS = {
    "PORT_OUT_PENDING": 0.30,
    "FRAUD_HOLD": 0.15,
    "CORPORATE_ACCOUNT": 0.25,
    "DUPLICATE_IDENTITY": 0.10,
    "UNBILLED_USAGE": 0.20,
}
APP_USER_RATE = 0.70
SSO_SHARES = {"google": 0.45, "facebook": 0.20, "apple": 0.15}
EXTERNAL_ONLY_RATE = 0.30
EMPTY_EXTERNAL_RATE = 0.50
WALLET_RATE = 0.50  # of app users

_ADDONS = {  # code: (quota_mb, price in cents)
    "DATA_5GB": (5_120, 2_500_000),
    "DATA_15GB": (15_360, 6_000_000),
    "VOICE_100MIN": (0, 1_500_000),
    "SMS_500": (0, 500_000),
    "ROAMING_ASIA": (3_072, 12_500_050),
    "VIDEO_MAX": (30_720, 4_999_900),
}
_PROMOS = {  # code: reward_type
    "WELCOME10": "DISCOUNT",
    "DATA2X": "DATA_BONUS",
    "CASHBACK5": "CASHBACK",
    "REFERRAL": "CASHBACK",
}
_DENOMINATIONS = [5_000, 10_000, 20_000, 25_000, 50_000, 100_000]


def expected_app_login_share() -> float:
    """Share of app users that count as app-login eligible (any SSO or a non-empty external number)."""
    no_sso = 1.0
    for share in SSO_SHARES.values():
        no_sso *= 1.0 - share
    return 1.0 - no_sso * (1.0 - EXTERNAL_ONLY_RATE)


# --------------------------------------------------------------------------------------- specs


@dataclass
class PrefixSpec:
    """A prefix's batches: the domain's MSISDN blocks, every number in each one a subscriber."""

    prefix_id: str
    prefix: str
    batches: list[BatchRange] = field(default_factory=list)


@dataclass
class CohortSpec:
    cohort_id: str
    prefixes: list[PrefixSpec]
    seed: int
    non_migratable_rate: float = 0.03

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> CohortSpec:
        """Build from config (YAML/JSON): prefixes -> batches as plain mappings."""
        prefixes = [
            PrefixSpec(
                str(p["prefix_id"]),
                str(p["prefix"]),
                [
                    BatchRange(str(b["batch_id"]), str(b["msisdn_start"]), str(b["msisdn_end"]))
                    for b in p.get("batches", [])
                ],
            )
            for p in values.get("prefixes", [])
        ]
        return cls(
            str(values["cohort_id"]), prefixes, int(values["seed"]), float(values.get("non_migratable_rate", 0.03))
        )

    @property
    def size(self) -> int:
        return sum(b.size for p in self.prefixes for b in p.batches)


def _check_id(what: str, value: str) -> None:
    if not isinstance(value, str) or not _SAFE_ID.match(value) or value in {".", ".."}:
        raise ValueError(f"{what} {value!r} must be 1-64 characters of A-Z a-z 0-9 _ . -")


def _check_batch(prefix: PrefixSpec, batch: BatchRange) -> None:
    """What the demo adds to a ``BatchRange`` (itself a non-empty range of equal-length digits)."""
    where = f"batch {prefix.prefix_id}/{batch.batch_id}"
    for bound in (batch.msisdn_start, batch.msisdn_end):
        if not _DIGITS.match(bound):
            raise ValueError(f"{where}: MSISDN {bound!r} must be 8-15 digits in international form")
        if not bound.startswith(prefix.prefix):
            raise ValueError(f"{where}: MSISDN {bound} is outside prefix {prefix.prefix}")


def validate(cohort: CohortSpec) -> None:
    """Reject specs that would make keys collide or land files outside their folder."""
    _check_id("cohort_id", cohort.cohort_id)
    if not isinstance(cohort.seed, int) or cohort.seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {cohort.seed!r}")
    if not 0.0 <= cohort.non_migratable_rate <= 1.0:
        raise ValueError(f"non_migratable_rate must be within [0, 1], got {cohort.non_migratable_rate}")
    if not cohort.prefixes or not any(p.batches for p in cohort.prefixes):
        raise ValueError(f"cohort {cohort.cohort_id} has no batches")
    seen: set[tuple[str, str]] = set()
    ranges: list[tuple[int, int, str]] = []
    for prefix in cohort.prefixes:
        _check_id("prefix_id", prefix.prefix_id)
        if not prefix.prefix.isdigit():
            raise ValueError(f"prefix {prefix.prefix_id}: {prefix.prefix!r} must be digits")
        for batch in prefix.batches:
            _check_id("batch_id", batch.batch_id)
            _check_batch(prefix, batch)
            if (prefix.prefix_id, batch.batch_id) in seen:
                raise ValueError(f"batch {prefix.prefix_id}/{batch.batch_id} is listed twice")
            seen.add((prefix.prefix_id, batch.batch_id))
            ranges.append((int(batch.msisdn_start), int(batch.msisdn_end), f"{prefix.prefix_id}/{batch.batch_id}"))
    ranges.sort()
    for (_, end, name), (start, _, other) in zip(ranges, ranges[1:]):
        if start <= end:
            raise ValueError(f"batches {name} and {other} overlap")


# ------------------------------------------------------------------------- vectorised randomness


def _splitmix(value: int) -> int:
    value = (value + _GOLDEN) & _MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


def _u64(value: int) -> pa.Scalar:
    return pa.scalar(value & _MASK64, pa.uint64())


def _mix(x: pa.Array) -> pa.Array:
    """SplitMix64's finaliser over a uint64 column: a bijection, so distinct keys stay distinct."""
    x = pc.multiply(pc.bit_wise_xor(x, pc.shift_right(x, _u64(30))), _u64(0xBF58476D1CE4E5B9))
    x = pc.multiply(pc.bit_wise_xor(x, pc.shift_right(x, _u64(27))), _u64(0x94D049BB133111EB))
    return pc.bit_wise_xor(x, pc.shift_right(x, _u64(31)))


class _Streams:
    """Counter-based random streams: value = mix(key, seed, stream name). Stable across runs,
    processes and platforms (no global RNG state, no Python ``hash``)."""

    def __init__(self, seed: int):
        self.seed = seed

    def salt(self, stream: str) -> int:
        digest = hashlib.blake2b(f"{self.seed}\x00{stream}".encode(), digest_size=8).digest()
        return _splitmix(int.from_bytes(digest, "little"))

    def bits(self, keys: pa.Array, stream: str) -> pa.Array:
        keys = pc.cast(_arr(keys), pa.uint64())
        return _mix(pc.add(pc.multiply(keys, _u64(_GOLDEN)), _u64(self.salt(stream))))

    def uniform(self, keys: pa.Array, stream: str) -> pa.Array:
        top53 = pc.cast(pc.shift_right(self.bits(keys, stream), _u64(11)), pa.float64())
        return pc.multiply(top53, 2.0**-53)

    def integers(self, keys: pa.Array, stream: str, low: int, high: int) -> pa.Array:
        """Integers in [low, high)."""
        span = pc.modulo(self.bits(keys, stream), _u64(high - low))
        return pc.add(pc.cast(span, pa.int64()), low)

    def bernoulli(self, keys: pa.Array, stream: str, share: float) -> pa.Array:
        return pc.less(self.uniform(keys, stream), share)

    def choice_index(self, keys: pa.Array, stream: str, weights: Sequence[float]) -> pa.Array:
        u = self.uniform(keys, stream)
        total, edge = sum(weights), 0.0
        index = _const(0, len(u), pa.int64())
        for weight in weights[:-1]:
            edge += weight / total
            index = pc.add(index, pc.cast(pc.greater_equal(u, edge), pa.int64()))
        return index

    def choice(self, keys: pa.Array, stream: str, weights: Mapping[str, float]) -> pa.Array:
        return pc.take(pa.array(list(weights), pa.string()), self.choice_index(keys, stream, list(weights.values())))


# ------------------------------------------------------------------------------ column helpers


def _arr(values: Any) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _arange(n: int) -> pa.Array:
    if n == 0:
        return pa.array([], pa.int64())
    return pc.subtract(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), n)), 1)


def _expand(counts: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Child rows for per-parent counts: (parent row index, ordinal within the parent)."""
    counts = pc.cast(_arr(counts), pa.int64())
    ends = pc.cumulative_sum(counts) if len(counts) else pa.array([], pa.int64())
    offsets = pa.concat_arrays([pa.array([0], pa.int64()), ends])
    total = offsets[-1].as_py()
    parents = pc.list_parent_indices(pa.LargeListArray.from_arrays(offsets, pa.nulls(total, pa.int64())))
    parents = pc.cast(parents, pa.int64())
    ordinals = pc.subtract(_arange(total), pc.take(offsets, parents))
    return parents, ordinals


def _child_keys(parent_keys: pa.Array, ordinals: pa.Array) -> pa.Array:
    """A unique uint64 per child row (at most 8 children per parent)."""
    return pc.add(pc.multiply(pc.cast(parent_keys, pa.uint64()), _u64(8)), pc.cast(ordinals, pa.uint64()))


def _const(value: Any, n: int, kind: pa.DataType) -> pa.Array:
    return pa.repeat(pa.scalar(value, kind), n)


def _money(units: pa.Array) -> pa.Array:
    """Integer ten-thousandths as exact ``decimal128(20, 4)`` (the storage is the same integer)."""
    return pc.cast(pc.cast(_arr(units), pa.int64()), pa.decimal128(20, 0)).view(MONEY)


def _cents(keys: pa.Array, streams: _Streams, stream: str, low: int, high: int) -> pa.Array:
    """Random amounts in cents within [low, high), as ten-thousandth units."""
    return pc.multiply(streams.integers(keys, stream, low, high), _UNITS_PER_CENT)


def _timestamps(seconds: pa.Array) -> pa.Array:
    return pc.cast(pc.cast(seconds, pa.int64()), TIMESTAMP)


def _epoch(ts: pa.Array) -> pa.Array:
    return pc.cast(pc.cast(ts, pa.timestamp("s")), pa.int64())


def _digits(values: pa.Array, width: int) -> pa.Array:
    return pc.utf8_lpad(pc.cast(values, pa.string()), width=width, padding="0")


def _join(*parts: Any) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _permute(values: pa.Array, modulus: int, multiplier: int, offset: int) -> pa.Array:
    """Affine bijection on [0, modulus): unique inputs give unique, non-sequential outputs."""
    x = pc.multiply(pc.cast(values, pa.uint64()), _u64(multiplier))
    return pc.modulo(pc.add(pc.modulo(x, _u64(modulus)), _u64(offset % modulus)), _u64(modulus))


def _tail(msisdn: pa.Array) -> pa.Array:
    return pc.modulo(msisdn, _u64(10**10))


def _opaque_id(letters: str, parent_keys: pa.Array, ordinals: pa.Array, streams: _Streams) -> pa.Array:
    """Ids like ``PAY048213377120``: unique per (MSISDN tail, ordinal) without spelling out the MSISDN."""
    seq = pc.add(pc.multiply(_tail(pc.cast(parent_keys, pa.uint64())), _u64(8)), pc.cast(ordinals, pa.uint64()))
    return _join(letters, _digits(_permute(seq, 10**12, 16_777_259, streams.salt("id:" + letters)), 12))


# ---------------------------------------------------------------------------------- datasets


@dataclass
class _Frame:
    """The cohort's MSISDN list with where each number came from."""

    keys: pa.Array  # uint64 MSISDN
    msisdn: pa.Array
    prefix_id: pa.Array
    prefix: pa.Array
    batch_id: pa.Array


def _frame(cohort: CohortSpec) -> _Frame:
    batches = [(p, b) for p in cohort.prefixes for b in p.batches]
    batch_of, ordinal = _expand(pa.array([b.size for _, b in batches], pa.int64()))
    starts = pa.array([int(b.msisdn_start) for _, b in batches], pa.uint64())
    keys = pc.add(pc.take(starts, batch_of), pc.cast(ordinal, pa.uint64()))
    if pc.count_distinct(_tail(keys)).as_py() != len(keys):
        raise ValueError(f"cohort {cohort.cohort_id}: MSISDNs must differ in their last 10 digits")

    def label(values: list[str]) -> pa.Array:
        return pc.take(pa.array(values, pa.string()), batch_of)

    return _Frame(
        keys,
        pc.cast(keys, pa.string()),
        label([p.prefix_id for p, _ in batches]),
        label([p.prefix for p, _ in batches]),
        label([b.batch_id for _, b in batches]),
    )


def _subscribers(cohort: CohortSpec, frame: _Frame, streams: _Streams) -> pa.Table:
    keys, n = frame.keys, len(frame.keys)
    msin = _digits(_permute(_tail(keys), 10**10, 982_451_653, streams.salt("imsi")), 10)
    non_migratable = streams.bernoulli(keys, "non_migratable", cohort.non_migratable_rate)
    reason = pc.if_else(
        non_migratable,
        streams.choice(keys, "non_migratable_reason", NON_MIGRATABLE_REASONS),
        pa.scalar(None, pa.string()),
    )
    activated = streams.integers(keys, "activated_at", _ACTIVATION_FROM, _AS_OF - 30 * _DAY)
    return pa.table(
        {
            "msisdn": frame.msisdn,
            "imsi": _join("51010", msin),
            "iccid": _join("896210", msin, _digits(streams.integers(keys, "iccid", 0, 1000), 3)),
            "cohort_id": _const(cohort.cohort_id, n, pa.string()),
            "prefix_id": frame.prefix_id,
            "prefix": frame.prefix,
            "batch_id": frame.batch_id,
            "source_system": streams.choice(keys, "source_system", SOURCE_SYSTEM_WEIGHTS),
            "subscriber_status": streams.choice(keys, "status", STATUS_WEIGHTS),
            "plan": streams.choice(keys, "plan", PLAN_WEIGHTS),
            "activated_at": _timestamps(activated),
            "migratable": pc.invert(non_migratable),
            "non_migratable_reason": reason,
        },
        schema=DATASETS["subscribers"].schema,
    )


def _balances(subs: pa.Table, keys: pa.Array, streams: _Streams) -> pa.Table:
    n = len(keys)
    zero = pc.or_(pc.equal(subs["subscriber_status"], "TERMINATED"), streams.bernoulli(keys, "pulsa_zero", 0.05))
    pulsa = pc.if_else(zero, 0, _cents(keys, streams, "pulsa", 0, 50_000_000))
    ucoin = pc.if_else(streams.bernoulli(keys, "ucoin_zero", 0.20), 0, streams.integers(keys, "ucoin", 1, 50_001))
    updated = pc.subtract(_AS_OF, streams.integers(keys, "balance_updated", 0, 7 * _DAY))
    return pa.table(
        {
            "msisdn": subs["msisdn"],
            "pulsa_balance": _money(pulsa),
            "ucoin_balance": ucoin,
            "currency": _const("IDR", n, pa.string()),
            "updated_at": _timestamps(updated),
        },
        schema=DATASETS["balances"].schema,
    )


def _children(
    subs: pa.Table, keys: pa.Array, streams: _Streams, name: str, count_weights: Sequence[float]
) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
    """Child rows of a per-subscriber dataset: (parent keys, child keys, msisdn, ordinals)."""
    parents, ordinals = _expand(streams.choice_index(keys, name + ":count", count_weights))
    parent_keys = pc.take(keys, parents)
    return parent_keys, _child_keys(parent_keys, ordinals), pc.take(subs["msisdn"], parents), ordinals


def _addons(subs: pa.Table, keys: pa.Array, streams: _Streams) -> pa.Table:
    parent_keys, child, msisdn, ordinals = _children(subs, keys, streams, "addons", [0.4, 0.3, 0.2, 0.1])
    code = streams.choice_index(child, "addon_code", [1.0] * len(_ADDONS))
    started = pc.subtract(_AS_OF, streams.integers(child, "addon_started", 0, 30 * _DAY))
    return pa.table(
        {
            "addon_id": _opaque_id("AD", parent_keys, ordinals, streams),
            "msisdn": msisdn,
            "addon_code": pc.take(pa.array(list(_ADDONS)), code),
            "quota_mb": pc.take(pa.array([q for q, _ in _ADDONS.values()], pa.int64()), code),
            "price": _money(
                pc.multiply(pc.take(pa.array([c for _, c in _ADDONS.values()], pa.int64()), code), _UNITS_PER_CENT)
            ),
            "started_at": _timestamps(started),
            "expires_at": _timestamps(pc.add(started, 30 * _DAY)),
        },
        schema=DATASETS["addons"].schema,
    )


def _payments(subs: pa.Table, keys: pa.Array, streams: _Streams) -> pa.Table:
    parent_keys, child, msisdn, ordinals = _children(subs, keys, streams, "payments", [0.3, 0.3, 0.2, 0.1, 0.1])
    n = len(child)
    denomination = pc.take(
        pa.array([d * 100 * _UNITS_PER_CENT for d in _DENOMINATIONS], pa.int64()),
        streams.choice_index(child, "payment_denomination", [1.0] * len(_DENOMINATIONS)),
    )
    odd = _cents(child, streams, "payment_amount", 100_000, 25_000_000)
    amount = pc.if_else(streams.bernoulli(child, "payment_is_denomination", 0.75), denomination, odd)
    return pa.table(
        {
            "payment_id": _opaque_id("PAY", parent_keys, ordinals, streams),
            "msisdn": msisdn,
            "amount": _money(amount),
            "currency": _const("IDR", n, pa.string()),
            "channel": streams.choice(
                child,
                "payment_channel",
                {"VA_BANK": 0.35, "EWALLET": 0.30, "RETAIL": 0.20, "CREDIT_CARD": 0.10, "DIRECT_DEBIT": 0.05},
            ),
            "payment_status": streams.choice(
                child, "payment_status", {"SUCCESS": 0.90, "FAILED": 0.06, "PENDING": 0.02, "REFUNDED": 0.02}
            ),
            "paid_at": _timestamps(pc.subtract(_AS_OF, streams.integers(child, "paid_at", 0, 180 * _DAY))),
        },
        schema=DATASETS["payments"].schema,
    )


def _promotions(subs: pa.Table, keys: pa.Array, streams: _Streams) -> pa.Table:
    parent_keys, child, msisdn, ordinals = _children(subs, keys, streams, "promotions", [0.6, 0.3, 0.1])
    code = streams.choice_index(child, "promo_code", [0.4, 0.3, 0.2, 0.1])
    return pa.table(
        {
            "promotion_id": _opaque_id("PRM", parent_keys, ordinals, streams),
            "msisdn": msisdn,
            "promo_code": pc.take(pa.array(list(_PROMOS)), code),
            "reward_type": pc.take(pa.array(list(_PROMOS.values())), code),
            "reward_value": _money(_cents(child, streams, "reward_value", 100_000, 5_000_000)),
            "promotion_status": streams.choice(
                child, "promotion_status", {"ACTIVE": 0.5, "REDEEMED": 0.35, "EXPIRED": 0.15}
            ),
            "valid_until": _timestamps(
                pc.add(_AS_OF - 30 * _DAY, streams.integers(child, "valid_until", 0, 120 * _DAY))
            ),
        },
        schema=DATASETS["promotions"].schema,
    )


def _sso_json(keys: pa.Array, streams: _Streams) -> pa.Array:
    """The canonical SSO JSON per user, built column-wise (see the module docstring for shares)."""
    null = pa.scalar("null", pa.string())
    has = {name: streams.bernoulli(keys, "sso:" + name, share) for name, share in SSO_SHARES.items()}
    ids = {
        "google": _join("1", _digits(streams.integers(keys, "sso_id:google", 0, 10**18), 20)),
        "facebook": _digits(streams.integers(keys, "sso_id:facebook", 10**15, 10**16), 16),
        "apple": _join(
            "001",
            _digits(streams.integers(keys, "sso_id:apple", 0, 10**6), 6),
            ".",
            _digits(streams.integers(keys, "sso_id:apple_tail", 0, 10**4), 4),
        ),
    }
    fragments = {name: pc.if_else(has[name], _join('{"id": "', ids[name], '"}'), null) for name in SSO_SHARES}
    no_sso = pc.invert(pc.or_(pc.or_(has["google"], has["facebook"]), has["apple"]))
    external_only = pc.and_(no_sso, streams.bernoulli(keys, "external_only", EXTERNAL_ONLY_RATE))
    empty = pc.and_(
        pc.and_(no_sso, pc.invert(external_only)), streams.bernoulli(keys, "external_empty", EMPTY_EXTERNAL_RATE)
    )
    number = _join('"62857', _digits(streams.integers(keys, "external_number", 0, 10**8), 8), '"')
    external = pc.if_else(external_only, number, pc.if_else(empty, pa.scalar('""', pa.string()), null))
    return _join(
        '{"sso": {"google": ',
        fragments["google"],
        ', "facebook": ',
        fragments["facebook"],
        ', "apple": ',
        fragments["apple"],
        '}, "external_operator_number": ',
        external,
        "}",
    )


def _app_users(subs: pa.Table, keys: pa.Array, streams: _Streams) -> pa.Table:
    users = streams.bernoulli(keys, "app_user", APP_USER_RATE)
    keys, msisdn = pc.filter(keys, users), pc.filter(subs["msisdn"], users)
    activated = _epoch(pc.filter(subs["activated_at"], users))
    span = pc.cast(pc.subtract(_AS_OF, activated), pa.float64())
    registered = pc.add(
        activated, pc.cast(pc.floor(pc.multiply(streams.uniform(keys, "registered_at"), span)), pa.int64())
    )
    zero = _const(0, len(keys), pa.int64())
    return pa.table(
        {
            "user_id": _opaque_id("U", keys, zero, streams),
            "msisdn": msisdn,
            "contact_number": msisdn,
            "sso_connections": _sso_json(keys, streams),
            "registered_at": _timestamps(registered),
        },
        schema=DATASETS["app_users"].schema,
    )


def _inventory(subs: pa.Table, keys: pa.Array, streams: _Streams) -> pa.Table:
    retired = pc.equal(subs["subscriber_status"], "TERMINATED")
    issued = pc.subtract(_epoch(subs["activated_at"]), streams.integers(keys, "sim_issued", _DAY, 30 * _DAY))
    return pa.table(
        {
            "iccid": subs["iccid"],
            "imsi": subs["imsi"],
            "msisdn": subs["msisdn"],
            "sim_type": streams.choice(keys, "sim_type", {"PHYSICAL": 0.85, "ESIM": 0.15}),
            "unit_status": pc.if_else(retired, "RETIRED", "ASSIGNED"),
            "warehouse_code": streams.choice(keys, "warehouse", {"WH-JKT": 0.5, "WH-SBY": 0.3, "WH-MDN": 0.2}),
            "issued_at": _timestamps(issued),
        },
        schema=DATASETS["inventory"].schema,
    )


def _wallets(users: pa.Table, streams: _Streams) -> tuple[pa.Table, pa.Table]:
    """Wallets and their ledger; each balance is exactly its entries' credits minus debits."""
    user_keys = pc.cast(users["msisdn"], pa.uint64())
    has = streams.bernoulli(user_keys, "wallet", WALLET_RATE)
    keys = pc.filter(user_keys, has)
    zero = _const(0, len(keys), pa.int64())
    wallet_id = _opaque_id("W", keys, zero, streams)
    parents, ordinals = _expand(pc.add(streams.integers(keys, "ledger:count", 0, 5), 1))
    child = _child_keys(pc.take(keys, parents), ordinals)
    first = pc.equal(ordinals, 0)
    debit = pc.and_(pc.invert(first), streams.bernoulli(child, "ledger_debit", 0.7))
    # The opening top-up (>= 100,000) covers at most four debits of < 25,000: no balance goes negative.
    amount = pc.if_else(
        first,
        _cents(child, streams, "ledger_topup", 10_000_000, 100_000_000),
        _cents(child, streams, "ledger_amount", 1, 2_500_000),
    )
    signed = pc.if_else(debit, pc.negate(amount), amount)
    sums = pa.table({"w": parents, "s": signed}).group_by("w", use_threads=False).aggregate([("s", "sum")])
    balance = pc.take(sums["s_sum"], pc.sort_indices(sums["w"]))
    created = pc.add(
        pc.add(_AS_OF - 42 * _DAY, pc.multiply(ordinals, 7 * _DAY)),
        streams.integers(child, "ledger_created", 0, 7 * _DAY),
    )
    msisdn = pc.filter(users["msisdn"], has)
    wallets = pa.table(
        {
            "wallet_id": wallet_id,
            "user_id": pc.filter(users["user_id"], has),
            "msisdn": msisdn,
            "wallet_status": streams.choice(keys, "wallet_status", {"ACTIVE": 0.95, "FROZEN": 0.05}),
            "balance": _money(balance),
            "currency": _const("IDR", len(keys), pa.string()),
        },
        schema=DATASETS["wallets"].schema,
    )
    ledger = pa.table(
        {
            "entry_id": _opaque_id("LE", pc.take(keys, parents), ordinals, streams),
            "wallet_id": pc.take(wallet_id, parents),
            "msisdn": pc.take(msisdn, parents),
            "entry_type": pc.if_else(debit, "DEBIT", "CREDIT"),
            "amount": _money(amount),
            "created_at": _timestamps(created),
        },
        schema=DATASETS["wallet_ledger"].schema,
    )
    return wallets, ledger


def _vouchers(subs: pa.Table, keys: pa.Array, streams: _Streams) -> pa.Table:
    parent_keys, child, msisdn, ordinals = _children(subs, keys, streams, "vouchers", [0.5, 0.3, 0.15, 0.05])
    issued = pc.subtract(_AS_OF, streams.integers(child, "voucher_issued", 0, 365 * _DAY))
    return pa.table(
        {
            "voucher_id": _opaque_id("VC", parent_keys, ordinals, streams),
            "msisdn": msisdn,
            "voucher_type": streams.choice(child, "voucher_type", {"LOYALTY": 0.6, "PROMO": 0.3, "COMPENSATION": 0.1}),
            "points": pc.multiply(streams.integers(child, "voucher_points", 1, 101), 100),
            "voucher_status": streams.choice(child, "voucher_status", {"OPEN": 0.5, "REDEEMED": 0.35, "EXPIRED": 0.15}),
            "issued_at": _timestamps(issued),
            "expires_at": _timestamps(pc.add(issued, 90 * _DAY)),
        },
        schema=DATASETS["vouchers"].schema,
    )


def _brm_balances(subs: pa.Table, balances: pa.Table, keys: pa.Array, streams: _Streams) -> pa.Table:
    postpaid = pc.starts_with(subs["plan"], "POSTPAID")
    limits = pc.take(
        pa.array([2_000_000_000, 5_000_000_000, 10_000_000_000], pa.int64()),
        streams.choice_index(keys, "brm_credit_limit", [0.5, 0.3, 0.2]),
    )
    invoice = _cents(keys, streams, "brm_invoice", 5_000_000, 150_000_000)
    zero = _const(0, len(keys), pa.int64())
    return pa.table(
        {
            "msisdn": subs["msisdn"],
            "billing_account_id": _opaque_id("BA", keys, zero, streams),
            "bill_cycle_day": streams.integers(keys, "bill_cycle_day", 1, 29),
            "balance": balances["pulsa_balance"],
            "credit_limit": _money(pc.if_else(postpaid, limits, 0)),
            "last_invoice_amount": _money(pc.if_else(postpaid, invoice, 0)),
            "currency": _const("IDR", len(keys), pa.string()),
        },
        schema=DATASETS["brm_balances"].schema,
    )


def generate(cohort: CohortSpec) -> dict[str, pa.Table]:
    """All landing tables of one cohort, keyed by dataset name in ``DATASETS`` order."""
    validate(cohort)
    streams = _Streams(cohort.seed)
    frame = _frame(cohort)
    keys = frame.keys
    subs = _subscribers(cohort, frame, streams)
    balances = _balances(subs, keys, streams)
    users = _app_users(subs, keys, streams)
    wallets, ledger = _wallets(users, streams)
    tables = {
        "subscribers": subs,
        "balances": balances,
        "addons": _addons(subs, keys, streams),
        "payments": _payments(subs, keys, streams),
        "promotions": _promotions(subs, keys, streams),
        "app_users": users,
        "inventory": _inventory(subs, keys, streams),
        "wallets": wallets,
        "wallet_ledger": ledger,
        "vouchers": _vouchers(subs, keys, streams),
        "brm_balances": _brm_balances(subs, balances, keys, streams),
    }
    return {name: tables[name].combine_chunks() for name in DATASETS}


# ------------------------------------------------------------------------------ fault injection


def _key_column(table: pa.Table, key: str | None) -> str:
    key = key or table.column_names[0]
    if key not in table.column_names:
        raise ValueError(f"key column {key!r} is not in the table ({', '.join(table.column_names)})")
    return key


def _prefix_mask(table: pa.Table, prefix: str | None) -> pa.Array:
    if prefix is None:
        return _const(True, table.num_rows, pa.bool_())
    if "msisdn" not in table.column_names:
        raise ValueError("a prefix filter needs an msisdn column")
    return pc.fill_null(pc.starts_with(table["msisdn"], prefix), False)


def _pick(table: pa.Table, eligible: Any, n: int, seed: int, stream: str) -> pa.Array:
    """``n`` eligible row indices, chosen by seed, in ascending order."""
    candidates = pc.indices_nonzero(pc.fill_null(eligible, False))
    if n < 0 or n > len(candidates):
        raise ValueError(f"cannot pick {n} rows: {len(candidates)} of {table.num_rows} rows are eligible")
    order = pc.sort_indices(_Streams(seed).bits(candidates, "fault:" + stream))
    chosen = pc.take(candidates, order[:n])
    return pc.cast(pc.take(chosen, pc.sort_indices(chosen)), pa.int64())


def _row_mask(table: pa.Table, rows: pa.Array) -> pa.Array:
    return pc.is_in(_arange(table.num_rows), value_set=rows)


def _affected(table: pa.Table, key: str, rows: pa.Array) -> list[Any]:
    return pc.take(table[key], rows).to_pylist()


def drop_rows(
    table: pa.Table, n: int, *, seed: int, where_prefix: str | None = None, key: str | None = None
) -> tuple[pa.Table, list[Any]]:
    """Lose ``n`` rows (optionally only MSISDNs under ``where_prefix``), as a faulty load would."""
    key = _key_column(table, key)
    rows = _pick(table, _prefix_mask(table, where_prefix), n, seed, "drop")
    return table.filter(pc.invert(_row_mask(table, rows))), _affected(table, key, rows)


def drift_amounts(
    table: pa.Table,
    column: str,
    delta: Decimal,
    n: int,
    *,
    seed: int,
    where_prefix: str | None = None,
    key: str | None = None,
) -> tuple[pa.Table, list[Any]]:
    """Add ``delta`` to ``column`` in ``n`` non-null rows: the cent that a rounding bug moves."""
    key = _key_column(table, key)
    values = table[column].combine_chunks()
    kind = values.type
    try:
        if pa.types.is_decimal(kind):
            step = pa.scalar(Decimal(delta), kind)
        elif pa.types.is_integer(kind) and Decimal(delta) == Decimal(delta).to_integral_value():
            step = pa.scalar(int(delta), kind)
        else:
            raise ValueError(f"column {column!r} ({kind}) cannot take delta {delta}")
        moved = pc.cast(pc.add(values, step), kind)
    except (pa.ArrowInvalid, OverflowError) as exc:
        raise ValueError(f"delta {delta} does not fit column {column!r} ({kind}): {exc}") from None
    eligible = pc.and_(pc.is_valid(values), _prefix_mask(table, where_prefix))
    rows = _pick(table, eligible, n, seed, "drift:" + column)
    drifted = pc.if_else(_row_mask(table, rows), moved, values)
    return table.set_column(table.column_names.index(column), column, drifted), _affected(table, key, rows)


def flip_status(
    table: pa.Table, column: str, to_value: str, prefix: str | None, n: int, *, seed: int, key: str | None = None
) -> tuple[pa.Table, list[Any]]:
    """Set ``column`` to ``to_value`` in ``n`` rows under ``prefix`` that hold another value."""
    key = _key_column(table, key)
    values = table[column].combine_chunks()
    differs = pc.fill_null(pc.not_equal(values, pa.scalar(to_value, values.type)), True)
    rows = _pick(table, pc.and_(differs, _prefix_mask(table, prefix)), n, seed, "flip:" + column)
    flipped = pc.if_else(_row_mask(table, rows), pa.scalar(to_value, values.type), values)
    return table.set_column(table.column_names.index(column), column, flipped), _affected(table, key, rows)


# ---------------------------------------------------------------------------------- landing


def _write_one(table: pa.Table, filesystem: pafs.FileSystem, path: str, fmt: str) -> None:
    with filesystem.open_output_stream(path) as out:
        if fmt == "csv":
            pacsv.write_csv(
                table.combine_chunks(),
                out,  # see loaders: empty first chunks corrupt output
                write_options=pacsv.WriteOptions(include_header=True, quoting_style="needed"),
            )
        else:
            pq.write_table(table, out)


def write_landing(
    tables: Mapping[str, pa.Table], *, filesystem: pafs.FileSystem, base_path: str, cohort_id: str, fmt: str = "csv"
) -> list[str]:
    """Land each dataset as ``{base_path}/{cohort_id}/{dataset}/part-0000.{fmt}``; returns the paths
    in the form given (an ``s3://`` base gives ``s3://`` paths, ready for a file check side).

    CSV has a header, quotes every string (so null and ``""`` stay apart) and renders decimals
    with their exact digits. Parquet has no seconds unit, so its timestamps hold the same instants
    as milliseconds."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    _check_id("cohort_id", cohort_id)
    scheme = "s3://" if base_path.startswith("s3://") else ""
    root = base_path[len(scheme) :].rstrip("/")
    if not root:
        raise ValueError("base_path is empty")
    written: list[str] = []
    for name, table in tables.items():
        _check_id("dataset", name)
        folder = f"{root}/{cohort_id}/{name}"
        if filesystem.type_name != "s3":  # S3 has no folders; a marker object would only add noise
            filesystem.create_dir(folder, recursive=True)
        path = f"{folder}/part-0000.{fmt}"
        _write_one(table, filesystem, path, fmt)
        written.append(scheme + path)
    return written
