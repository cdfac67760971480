"""Who may see what: the api-server's own authentication, and DAG read access per row.

A plugin's FastAPI app is not behind Airflow's auth by default, so every route of the view
depends on ``viewer``: it resolves the user exactly as Airflow's REST API does (a Bearer token,
or the ``_token`` cookie the UI sets at login; anonymous -> 401, a bad token -> 403) and asks the
configured auth manager which DAGs that user may read. A row is shown only when its DAG is one
of them; a row no DAG wrote (a CLI run) needs read access to every DAG.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import Depends, HTTPException, status


@dataclass(frozen=True)
class Viewer:
    user: BaseUser
    readable_dags: frozenset[str]
    reads_every_dag: bool

    @property
    def name(self) -> str:
        return self.user.get_name()

    def can_read(self, dag_id: str | None) -> bool:
        return self.reads_every_dag or (dag_id is not None and dag_id in self.readable_dags)

    def require(self, dag_id: str | None) -> None:
        """Refuse (403) a page about a DAG this user may not read."""
        if not self.can_read(dag_id):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "you may not read the DAG these results belong to")


def viewer(user: GetUserDep) -> Viewer:
    """The logged-in user and the DAGs they may read; a user who may read none is refused."""
    auth_manager = get_auth_manager()
    readable = frozenset(auth_manager.get_authorized_dag_ids(user=user, method="GET"))
    every = auth_manager.is_authorized_dag(method="GET", user=user)
    if not readable and not every:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "you may not read any DAG")
    return Viewer(user, readable, every)


ViewerDep = Annotated[Viewer, Depends(viewer)]
