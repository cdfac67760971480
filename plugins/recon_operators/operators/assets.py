"""Airflow Assets for verified hops: a downstream DAG (a cutover) can be scheduled on them.

A gate that lets a cohort through because its data matched (``Passed``) or because a human
signed the difference off (``Approved``) emits an event on the asset of that cohort and hop;
``Warned``, ``Blocked``, ``Rejected`` and failures emit nothing, so the event means "verified".
The gate declares an ``AssetAlias`` and attaches the event at run time: a static outlet would
fire on every successful gate task, including one that only warned.

    from recon_operators.operators.assets import verified_asset
    with DAG("cutover_A", schedule=verified_asset("prod", "A", "mini_recon_3")): ...
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Asset, AssetAlias

VERIFIED_OUTCOMES = ("Passed", "Approved")


def verified_asset(env: str, cohort_id: str, stage: str) -> Asset:
    """The asset that says: cohort ``cohort_id`` of ``env`` is verified at ``stage``."""
    return Asset(name=f"recon.{env}.{cohort_id}.{stage}", uri=f"x-recon://{env}/{cohort_id}/{stage}", group="recon")


def gate_alias(asset: Asset) -> AssetAlias:
    """The alias a gate declares as its outlet, one per verified asset."""
    return AssetAlias(name=f"{asset.name}.gate")


def emit_verified(context: Any, asset: Asset, decision: dict[str, Any]) -> bool:
    """Attach the verified event to the gate's alias when the decision let verified data through."""
    if decision.get("outcome") not in VERIFIED_OUTCOMES:
        return False
    extra = {key: decision.get(key) for key in ("outcome", "status", "policy", "matched", "total", "decided_by")}
    context["outlet_events"][gate_alias(asset)].add(asset, extra={**extra, "run_id": context["run_id"]})
    return True
