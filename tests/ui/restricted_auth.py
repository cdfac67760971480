"""The simple auth manager with one restricted user, to prove the view filters by DAG read access.

``a_reader`` may read only DAGs whose id ends in ``_A`` (cohort A's); everyone else is as the
simple auth manager says. Loaded by the test api-server through ``[core] auth_manager``.
"""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

RESTRICTED_USER = "a_reader"


class CohortAReaderAuthManager(SimpleAuthManager):
    def is_authorized_dag(self, *, method: Any, user: Any, access_entity: Any = None, details: Any = None) -> bool:
        if user.get_name() == RESTRICTED_USER:
            return method == "GET" and details is not None and str(details.id or "").endswith("_A")
        return super().is_authorized_dag(method=method, user=user, access_entity=access_entity, details=details)
