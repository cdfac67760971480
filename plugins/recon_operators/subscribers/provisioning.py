"""Provisioning modes and the all-or-nothing write of a chunk of subscribers to Cloud and Legacy.

Mode: ``CLOUD`` (DynamoDB only), ``LEGACY`` (MariaDB only) or ``DUAL_PROV`` (both). It is set
once (the Airflow Variable named in the config, else the config's default) and a run may
override it (its conf ``mode``); ``resolve_mode`` says which won.

A dual write, per chunk:

1. read both sides' current copies (the before-images) and decide per record what each side
   must hold; a record both sides already hold is left alone (a rerun writes nothing);
2. record a write intent (the chunk's uids) in the results store;
3. write Cloud (idempotent puts/deletes, retried with backoff); if Cloud fails, restore its
   before-images and fail those records: Legacy is never touched for them;
4. write Legacy in one transaction; records it refuses are rolled back there alone;
5. undo Cloud for the records Legacy refused (restore the before-image). A record whose undo
   also fails is recorded as out of sync and retried later by ``resync``: Legacy then holds the
   before-image (its write rolled back), so the retry copies Legacy's row to Cloud;
6. remove the intent. An intent left behind (the writer was killed or cancelled between steps
   3 and 6) makes its uids out of sync the same way.

So after a chunk each record is written on both sides, or on neither, or listed as out of sync.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from recon_operators.engine.masking import scrub
from recon_operators.errors import one_line
from recon_operators.subscribers.model import Record, content_of, merged, soft_deleted


class Mode(str, enum.Enum):
    CLOUD = "CLOUD"
    LEGACY = "LEGACY"
    DUAL_PROV = "DUAL_PROV"

    @property
    def cloud(self) -> bool:
        return self is not Mode.LEGACY

    @property
    def legacy(self) -> bool:
        return self is not Mode.CLOUD


class ModeError(ValueError):
    """A provisioning mode that is not CLOUD, LEGACY or DUAL_PROV."""


def parse_mode(value: Any, where: str) -> Mode:
    try:
        return Mode(str(value).strip().upper())
    except ValueError:
        raise ModeError(f"{where}: provisioning mode must be CLOUD, LEGACY or DUAL_PROV, not {value!r}") from None


def resolve_mode(run_override: Any, variable: Any, default: str) -> tuple[Mode, str]:
    """The mode of a run and where it came from: the run's conf, else the Variable, else config."""
    if run_override not in (None, ""):
        return parse_mode(run_override, "the run's conf 'mode'"), "run conf"
    if variable not in (None, ""):
        return parse_mode(variable, "the provisioning mode Variable"), "Airflow Variable"
    return parse_mode(default, "the config's provisioning.default_mode"), "config default"


class Side(Protocol):
    label: str

    def get_many(self, uids: Iterable[str]) -> dict[str, Record]: ...


class Journal(Protocol):
    """Where intents and out-of-sync records are kept (the results store's job tables)."""

    def open_intent(self, chunk: str, uids: list[str]) -> None: ...

    def close_intent(self, chunk: str, out_of_sync: Mapping[str, str]) -> None: ...


@dataclass
class ChunkOutcome:
    """What a chunk did, record by record counted once: succeeded (inserted + updated + deleted +
    unchanged) or failed (with its reason). ``compensated``: failed records undone on Cloud."""

    processed: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    compensated: int = 0
    failures: dict[str, str] = field(default_factory=dict)  # uid -> reason
    out_of_sync: dict[str, str] = field(default_factory=dict)  # uid -> reason

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def succeeded(self) -> int:
        return self.processed - self.failed

    def as_dict(self) -> dict[str, Any]:
        return {
            "processed": self.processed,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "inserted": self.inserted,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "compensated": self.compensated,
            "out_of_sync": len(self.out_of_sync),
        }


# What a subscriber should become, given its current Cloud and Legacy copies: a record, or None
# (absent). Raising ValueError fails the record with that reason.
Planner = Callable[[str, Record | None, Record | None], Record | None]


def upsert_planner(incoming: Mapping[str, Record], now: str) -> Planner:
    """Load ``incoming`` records: timestamps kept or moved as ``model.merged`` says."""

    def plan(uid: str, cloud: Record | None, legacy: Record | None) -> Record | None:
        return merged(incoming[uid], cloud or legacy, now)

    return plan


def delete_planner(now: str, *, soft: bool) -> Planner:
    """Delete (hard: remove; soft: status DELETED) wherever the subscriber exists."""

    def plan(uid: str, cloud: Record | None, legacy: Record | None) -> Record | None:
        existing = cloud or legacy
        if existing is None:
            raise ValueError("uid not found in the provisioned store(s)")
        return soft_deleted(existing, now) if soft else None

    return plan


class Provisioner:
    """Writes chunks in one mode. ``cloud``/``legacy``: the stores the mode needs (else None)."""

    def __init__(
        self, mode: Mode, *, cloud: Any = None, legacy: Any = None, journal: Journal | None = None, job_id: str
    ):
        if mode.cloud and cloud is None or mode.legacy and legacy is None:
            raise ValueError(f"mode {mode.value} needs {'both stores' if mode is Mode.DUAL_PROV else mode.value}")
        if mode is Mode.DUAL_PROV and journal is None:
            raise ValueError("a dual write needs a journal for its intents")
        self.mode, self.cloud, self.legacy, self.journal, self.job_id = mode, cloud, legacy, journal, job_id

    def write_chunk(self, chunk: str, uids: list[str], planner: Planner) -> ChunkOutcome:
        outcome = ChunkOutcome(processed=len(uids))
        cloud_before = self.cloud.get_many(uids) if self.mode.cloud else {}
        legacy_before = self.legacy.get_many(uids) if self.mode.legacy else {}
        cloud_changes: dict[str, Record | None] = {}
        legacy_changes: dict[str, Record | None] = {}
        kinds: dict[str, str] = {}
        for uid in uids:
            current_cloud, current_legacy = cloud_before.get(uid), legacy_before.get(uid)
            try:
                target = planner(uid, current_cloud, current_legacy)
            except ValueError as exc:
                outcome.failures[uid] = str(exc)
                continue
            kinds[uid] = _kind(target, current_cloud or current_legacy)
            if self.mode.cloud and current_cloud != target:
                cloud_changes[uid] = target
            if self.mode.legacy and current_legacy != target:
                legacy_changes[uid] = target
            if uid not in cloud_changes and uid not in legacy_changes:
                kinds[uid] = "unchanged"
        touched = sorted(set(cloud_changes) | set(legacy_changes))
        dual = self.mode is Mode.DUAL_PROV and bool(touched)
        if dual:
            self.journal.open_intent(chunk, touched)  # type: ignore[union-attr]
        self._write(cloud_changes, legacy_changes, cloud_before, legacy_before, outcome)
        if dual:  # not on an exception: the intent stays and resync checks its uids
            self.journal.close_intent(chunk, outcome.out_of_sync)  # type: ignore[union-attr]
        for uid, kind in kinds.items():
            if uid not in outcome.failures:
                setattr(outcome, kind, getattr(outcome, kind) + 1)
        return outcome

    def _write(
        self,
        cloud_changes: dict[str, Record | None],
        legacy_changes: dict[str, Record | None],
        cloud_before: Mapping[str, Record],
        legacy_before: Mapping[str, Record],
        outcome: ChunkOutcome,
    ) -> None:
        if cloud_changes:
            try:
                self.cloud.apply(cloud_changes)
            except Exception as exc:  # noqa: BLE001 - CloudError after retries: undo whatever landed
                reason = scrub(one_line(exc))
                self._undo_cloud(list(cloud_changes), cloud_before, reason, outcome)
                for uid in cloud_changes:
                    outcome.failures[uid] = reason
                    legacy_changes.pop(uid, None)
        if legacy_changes:
            try:
                refused = self.legacy.apply(legacy_changes, legacy_before, self.job_id)
            except Exception as exc:  # noqa: BLE001 - LegacyError: nothing of the batch committed
                refused = dict.fromkeys(legacy_changes, scrub(one_line(exc)))
            outcome.failures.update(refused)
            self._undo_cloud(
                [uid for uid in refused if uid in cloud_changes], cloud_before, "legacy refused the record", outcome
            )

    def _undo_cloud(self, uids: list[str], cloud_before: Mapping[str, Record], why: str, outcome: ChunkOutcome) -> None:
        if not uids:
            return
        try:
            self.cloud.apply({uid: cloud_before.get(uid) for uid in uids})
            outcome.compensated += len(uids)
        except Exception as exc:  # noqa: BLE001 - the undo failed: recorded, retried by resync
            outcome.out_of_sync.update(dict.fromkeys(uids, scrub(f"{why}; undo on cloud failed: {one_line(exc)}")))

    def resync(self, uids: list[str]) -> dict[str, str]:
        """Make Cloud equal Legacy for ``uids`` (out-of-sync records: Legacy holds the state both
        sides had before the interrupted write). Returns those still failing, with the reason."""
        legacy_now = self.legacy.get_many(uids)
        cloud_now = self.cloud.get_many(uids)
        changes = {uid: legacy_now.get(uid) for uid in uids if cloud_now.get(uid) != legacy_now.get(uid)}
        try:
            self.cloud.apply(changes)
        except Exception as exc:  # noqa: BLE001 - any provisioning failure is recorded against its rows, never lost
            return dict.fromkeys(changes, scrub(one_line(exc)))
        return {}


def _kind(target: Record | None, existing: Record | None) -> str:
    if target is None:
        return "deleted"
    if existing is None:
        return "inserted"
    if content_of(existing) == content_of(target):
        return "unchanged" if existing == target else "updated"
    return "deleted" if target.get("status") == "DELETED" and existing.get("status") != "DELETED" else "updated"
