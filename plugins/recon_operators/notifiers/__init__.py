"""Alerts for gates and failed tasks: render once (``alerts``), send through Slack or SNS.

Only ``slack`` and ``sns`` import Airflow; import them directly where a sender is needed, so
rendering stays usable without Airflow installed.
"""

from recon_operators.notifiers.alerts import GateAlert, alert_from_context, render_subject, render_text

__all__ = ["GateAlert", "alert_from_context", "render_subject", "render_text"]
