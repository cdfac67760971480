"""Which batches a cohort run works on, decided at run time from the run's params/conf.

The cohort DAG maps every batch-level task over this operator's output, so an operator can
rerun one prefix or one batch from the Airflow UI ("Trigger DAG w/ config") without editing
config, and every mapped task receives its scope (env, cohort_id, prefix_id, prefix, batch_id,
msisdn_start, msisdn_end) from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from recon_operators.sensors.condition import normalise_batches


class SelectionError(ValueError):
    """A run asked for prefixes or batches the cohort does not have, or for nothing at all."""


def select_scopes(scopes: list[dict[str, str]], prefix_ids: list[str], batch_ids: list[str]) -> list[dict[str, str]]:
    """The batch scopes one run works on: all of them, or those of the named prefixes / batches.

    Unknown ids are refused (a typo must not silently turn into an empty or partial rerun).
    Batch ids repeat across prefixes (B001 in each), so ``batch_ids`` may also be qualified as
    ``PREFIX_ID/BATCH_ID``; an unqualified id selects that batch in every selected prefix.
    """
    known_prefixes = list(dict.fromkeys(s["prefix_id"] for s in scopes))
    unknown = [p for p in prefix_ids if p not in known_prefixes]
    if unknown:
        raise SelectionError(f"prefix_ids {unknown} are not in the cohort (known: {', '.join(known_prefixes)})")
    chosen = [s for s in scopes if not prefix_ids or s["prefix_id"] in prefix_ids]
    if batch_ids:
        names = {s["batch_id"] for s in chosen} | {f"{s['prefix_id']}/{s['batch_id']}" for s in chosen}
        unknown = [b for b in batch_ids if b not in names]
        if unknown:
            raise SelectionError(
                f"batch_ids {unknown} are not in the selected prefixes (known: {', '.join(sorted(names))})"
            )
        chosen = [s for s in chosen if s["batch_id"] in batch_ids or f"{s['prefix_id']}/{s['batch_id']}" in batch_ids]
    return chosen


def prefixes_of(scopes: list[dict[str, str]], chosen: list[dict[str, str]]) -> list[dict[str, Any]]:
    """One entry per prefix the run touches: its scope fields, every batch of the prefix (a prefix
    summary covers them all) and the batches this run recomputes (``fresh_batch_ids``)."""
    out: dict[str, dict[str, Any]] = {}
    for scope in chosen:
        entry = out.setdefault(
            scope["prefix_id"],
            {
                "env": scope["env"],
                "cohort_id": scope["cohort_id"],
                "prefix_id": scope["prefix_id"],
                "prefix": scope["prefix"],
                "fresh_batch_ids": [],
                "batch_ids": [s["batch_id"] for s in scopes if s["prefix_id"] == scope["prefix_id"]],
            },
        )
        entry["fresh_batch_ids"].append(scope["batch_id"])
    return list(out.values())


class SelectBatchesOperator(BaseOperator):
    """Return the scopes of the selected batches (all when no ``prefix_ids``/``batch_ids`` given),
    or with ``per="prefix"`` one entry per prefix they belong to (see ``prefixes_of``): Airflow
    maps only over return values, so prefix-level work gets a selecting task of its own.

    ``prefix_ids`` and ``batch_ids`` are templated (typically ``{{ params.prefix_ids }}``) and
    accept a list or its text form. A bad selection fails at once, without retry.
    """

    template_fields: Sequence[str] = ("prefix_ids", "batch_ids")

    def __init__(
        self,
        *,
        scopes: list[dict[str, str]],
        prefix_ids: Any = None,
        batch_ids: Any = None,
        per: str = "batch",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if per not in ("batch", "prefix"):
            raise ValueError(f"{kwargs.get('task_id')}: per must be batch or prefix, not {per!r}")
        self.per = per
        self.scopes = [dict(s) for s in scopes]
        self.prefix_ids = prefix_ids
        self.batch_ids = batch_ids

    def execute(self, context: Any) -> list[dict[str, Any]]:
        try:
            chosen = select_scopes(self.scopes, normalise_batches(self.prefix_ids), normalise_batches(self.batch_ids))
        except (SelectionError, ValueError) as exc:
            raise AirflowFailException(str(exc)) from None
        self.log.info(
            "this run covers %d of %d batch(es): %s",
            len(chosen),
            len(self.scopes),
            ", ".join(f"{s['prefix_id']}/{s['batch_id']}" for s in chosen),
        )
        return chosen if self.per == "batch" else prefixes_of(self.scopes, chosen)
