"""Mini Recon formulas: the SQL lives in include/sql, this module only binds and runs it.

No Airflow imports: operators, the CLI and tests pass in a psycopg2 connection to the results
store, and each write runs in one transaction of its own, so a failure leaves the previous rows
of its scope in place and never a half-written summary.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from psycopg2.extras import execute_values

from recon_operators.engine.identifiers import IdentifierError, validate_identifier
from recon_operators.paths import read_sql
from recon_operators.sql_templates import Ident, ident, render_sql
from recon_operators.store.db import transaction

SSO_KEY = "sso"
SSO_PROVIDERS = ("google", "facebook", "apple")
EXTERNAL_OPERATOR_KEY = "external_operator_number"

_RULE_FILES = {
    "postgres": "rules/app_login_eligible_postgres.sql",
    "postgresql": "rules/app_login_eligible_postgres.sql",
    "mysql": "rules/app_login_eligible_mysql.sql",
    "mariadb": "rules/app_login_eligible_mysql.sql",
}


@dataclass(frozen=True)
class SubsetCount:
    """Distinct counts of one (service, subset) on the transformation and stage sides."""

    service: str
    subset: str
    transform_count: int
    stage_count: int

    def __post_init__(self) -> None:
        for name in ("service", "subset"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"SubsetCount.{name} must be a non-empty string, got {value!r}")
        for name in ("transform_count", "stage_count"):
            value = getattr(self, name)
            # bool is an int subclass; True as a count is a caller bug, not 1.
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"SubsetCount.{name} must be a count (int >= 0), got {value!r}")


@dataclass(frozen=True)
class Mr2Written:
    """What one Mini Recon 2 write stored: the subset rows and the per-service summary rows."""

    subsets: list[dict[str, Any]] = field(default_factory=list)
    summary: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True only when every service of the scope passed."""
        return bool(self.summary) and all(row["status"] == "Passed" for row in self.summary)


def _rows(cur: Any) -> list[dict[str, Any]]:
    names = [col[0] for col in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _required(**values: Any) -> None:
    for name, value in values.items():
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name} must be a non-empty string, got {value!r}")


def _optional(**values: Any) -> None:
    for name, value in values.items():
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name} must be a string or None, got {value!r}")


def write_prefix_summary(
    conn: Any, *, run_id: str, env: str, cohort_id: str, prefix_id: str, prefix: str
) -> list[dict[str, Any]]:
    """Replace one prefix's Mini Recon 1 summary rows and return them (sorted by status).

    Reads the batch rows already in the store; the formulas and edge-case rules are documented
    in include/sql/mini_recon_1/prefix_summary.sql. Both prefix fields are required: a summary
    of "no prefix" would match nothing and read as an empty prefix, i.e. a false Match.
    """
    _required(run_id=run_id, env=env, cohort_id=cohort_id, prefix_id=prefix_id, prefix=prefix)
    params = {"run_id": run_id, "env": env, "cohort_id": cohort_id, "prefix_id": prefix_id, "prefix": prefix}
    with transaction(conn) as cur:
        # One call, several statements (lock, delete, insert): psycopg2 returns the insert's rows.
        cur.execute(read_sql("mini_recon_1/prefix_summary.sql"), params)
        rows = _rows(cur)
    return sorted(rows, key=lambda r: (r["subscriber_status"] is not None, r["subscriber_status"] or ""))


def write_mr2_subset_status(
    conn: Any,
    *,
    run_id: str,
    env: str,
    cohort_id: str,
    counts: Sequence[SubsetCount],
    prefix_id: str | None = None,
    prefix: str | None = None,
    batch_id: str | None = None,
    msisdn_start: str | None = None,
    msisdn_end: str | None = None,
) -> Mr2Written:
    """Replace one scope's Mini Recon 2 subset statuses and per-service summary.

    Counts come from the caller (measured in the transformation and stage databases) and go in
    as bound values through a temporary table. No counts at all, or the same (service, subset)
    twice, is refused before anything is written: either would leave a verdict nobody measured.
    """
    _required(run_id=run_id, env=env, cohort_id=cohort_id)
    _optional(prefix_id=prefix_id, prefix=prefix, batch_id=batch_id, msisdn_start=msisdn_start, msisdn_end=msisdn_end)
    if not counts:
        raise ValueError("no subset counts given; nothing to reconcile for this scope")
    if any(not isinstance(c, SubsetCount) for c in counts):
        raise ValueError("counts must be SubsetCount values")
    seen = Counter((c.service, c.subset) for c in counts)
    duplicates = sorted(k for k, n in seen.items() if n > 1)
    if duplicates:
        raise ValueError(f"(service, subset) given more than once: {duplicates}")

    params = {
        "run_id": run_id,
        "env": env,
        "cohort_id": cohort_id,
        "prefix_id": prefix_id,
        "prefix": prefix,
        "batch_id": batch_id,
        "msisdn_start": msisdn_start,
        "msisdn_end": msisdn_end,
    }
    values = [(c.service, c.subset, c.transform_count, c.stage_count) for c in counts]
    with transaction(conn) as cur:
        cur.execute(read_sql("mini_recon_2/subset_counts_temp.sql"))
        execute_values(cur, read_sql("mini_recon_2/load_subset_counts.sql"), values)
        cur.execute(read_sql("mini_recon_2/subset_status.sql"), params)
        subsets = _rows(cur)
        cur.execute(read_sql("mini_recon_2/service_summary.sql"), params)
        summary = _rows(cur)
    return Mr2Written(
        subsets=sorted(subsets, key=lambda r: (r["service"], r["subset"])),
        summary=sorted(summary, key=lambda r: r["service"]),
    )


def _column_reference(column: str) -> Ident:
    """``col`` or ``alias.col``, each part validated (quoted for the dialect when rendered)."""
    reference = ident(column)
    if len(reference.parts) > 2:
        raise IdentifierError(f"{column!r} is not a column or alias.column")
    return reference


def app_login_eligible_sql(dialect: str, column: str) -> str:
    """The app-login rule as a boolean SQL expression over the JSON document in ``column``.

    ``dialect``: postgres/postgresql or mysql/mariadb. The rule (and the canonical JSON shape it
    accepts) is documented in include/sql/rules/. Comments are dropped so the expression can be
    pasted anywhere in a query; it is wrapped in parentheses and holds no ``%`` or ``?``.
    """
    try:
        relative = _RULE_FILES[dialect.lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"no app-login rule for dialect {dialect!r}; use one of {sorted(_RULE_FILES)}") from None
    target = "mysql" if relative.endswith("_mysql.sql") else "postgres"
    expression = render_sql(relative, dialect=target, json_column=_column_reference(column)).strip()
    if "%" in expression or "?" in expression:
        raise RuntimeError(f"{relative} holds a parameter marker it must not")
    return f"({expression})"


def _non_array(kind: str, **more: Any) -> dict[str, Any]:
    # Mongo paths reach into arrays and $type matches array elements; SQL JSON paths do neither,
    # so every level is also required not to be an array.
    return {"$type": kind, "$not": {"$type": "array"}, **more}


def app_login_eligible_mongo(field: str = "") -> dict[str, Any]:
    """The app-login rule as a Mongo query document (a ``find`` filter or a ``$match`` body).

    ``field`` is the dotted path of the user JSON inside each document ("" for the document
    itself). Query operators rather than ``$expr`` so an index on the paths can serve it.
    Same canonical shape and cases as the SQL versions in include/sql/rules/.
    """
    parts = [validate_identifier(p) for p in field.split(".")] if field else []
    conditions: list[dict[str, Any]] = [{".".join(parts[: i + 1]): _non_array("object")} for i in range(len(parts))]
    base = f"{field}." if field else ""
    sso = f"{base}{SSO_KEY}"
    connected = [
        {"$and": [{sso: _non_array("object")}, {f"{sso}.{p}": _non_array("object", **{"$ne": {}})}]}
        for p in SSO_PROVIDERS
    ]
    operator_number = {f"{base}{EXTERNAL_OPERATOR_KEY}": _non_array("string", **{"$regex": r"\S"})}
    return {"$and": [*conditions, {"$or": [*connected, operator_number]}]}
