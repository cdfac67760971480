"""The view behind the api-server's own auth: anonymous and forged requests refused on every
route, DAG read access decides which cohorts a user sees, the plugin shows in Airflow's menu."""

from __future__ import annotations

import httpx
import pytest
from fastapi.routing import APIRoute

from tests.ui.conftest import USERS
from tests.ui.restricted_auth import RESTRICTED_USER

pytestmark = [pytest.mark.dags, pytest.mark.timeout(1200)]


def view_paths(world) -> list[str]:
    """Every route the view's app serves, with real values in its path: a new route is covered
    the moment it exists."""
    from recon_operators.ui.app import URL_PREFIX, app

    values = {
        "env": world.env,
        "cohort_id": "B",
        "stage": "mini_recon_1",
        "job": "accounts_csv",
        "dataset": "daily_claims",
        "run_date": "2026-01-31",
    }
    paths = [URL_PREFIX + route.path.format(**values) for route in app.routes if isinstance(route, APIRoute)]
    assert len(paths) >= 7
    return paths


def get(server, path: str, **kwargs) -> httpx.Response:
    return httpx.get(server.url + path, timeout=60, follow_redirects=False, **kwargs)


def test_every_route_refuses_anonymous_and_forged_requests(api_server, recon_world):
    forged = "eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJsZWFkIiwicm9sZSI6IkFETUlOIn0.bm90LWEtc2lnbmF0dXJl"
    for path in view_paths(recon_world):
        anonymous = get(api_server, path)
        assert anonymous.status_code == 401, (path, anonymous.status_code, anonymous.text[:200])
        assert "Mini Recon" not in anonymous.text and recon_world.env not in anonymous.text
        browser = get(api_server, path, headers={"Accept": "text/html"})
        assert browser.status_code == 401, path
        assert path.endswith(".json") or "Log in to Airflow" in browser.text, path  # pages point at the login
        for credentials in ({"headers": {"Authorization": f"Bearer {forged}"}}, {"cookies": {"_token": forged}}):
            refused = get(api_server, path, **credentials)
            assert refused.status_code in (401, 403), (path, credentials, refused.status_code)
            assert recon_world.env not in refused.text


def test_a_logged_in_user_reads_every_route(api_server, recon_world):
    token = api_server.token("ops", USERS["ops"][1])
    for path in view_paths(recon_world):
        answer = get(api_server, path, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])


def test_an_empty_env_filter_means_no_filter_for_scripts_too(api_server, recon_world):
    """The page and its JSON twin read the matrix one way (the JSON once took ``env=`` as an env
    named '' and dropped the batch jobs)."""
    auth = {"Authorization": f"Bearer {api_server.token('ops', USERS['ops'][1])}"}
    whole = get(api_server, "/recon/overview.json", headers=auth).json()
    assert whole["cohorts"] and whole["batch_jobs"]
    assert get(api_server, "/recon/overview.json?env=", headers=auth).json() == whole


def test_the_matrix_says_a_is_green_and_b_blocked_at_mini_recon_1(api_server, recon_world):
    token = api_server.token("ops", USERS["ops"][1])
    answer = get(
        api_server, f"/recon/overview.json?env={recon_world.env}", headers={"Authorization": f"Bearer {token}"}
    )
    cohorts = {c["cohort_id"]: c for c in answer.json()["cohorts"]}
    assert set(cohorts) == {"A", "B"}
    a, b = cohorts["A"]["hops"], cohorts["B"]["hops"]
    assert {h: c["status"] for h, c in a.items()} == dict.fromkeys(a, "Match")
    assert {h: c["label"] for h, c in a.items() if h in ("transform", "stage", "target")} == dict.fromkeys(
        ("transform", "stage", "target"), "Loaded"
    )
    assert b["transform"]["status"] == "Match" and b["mini_recon_1"]["status"] == "Blocked"
    assert b["mini_recon_1"]["failed"] > 0
    # Later hops did not run: the stop gate failed and the loads never ran, and Mini Recon 2's results are the clean run's.
    assert [b[h]["label"] for h in ("stage", "mini_recon_2", "target", "overall_summary")] == ["Not run"] * 4
    assert cohorts["B"]["dag_run_id"] == recon_world.b_runs[1]


def test_rows_follow_dag_read_access(api_server, recon_world):
    token = api_server.token(RESTRICTED_USER, USERS[RESTRICTED_USER][1])
    auth = {"Authorization": f"Bearer {token}"}
    overview = get(api_server, f"/recon/overview.json?env={recon_world.env}", headers=auth)
    assert [c["cohort_id"] for c in overview.json()["cohorts"]] == ["A"]
    base = f"/recon/cohorts/{recon_world.env}"
    assert get(api_server, f"{base}/A/hops/mini_recon_1", headers=auth).status_code == 200
    for path in (f"{base}/B", f"{base}/B/hops/mini_recon_1", f"{base}/B/trends"):
        refused = get(api_server, path, headers=auth)
        assert refused.status_code == 403, (path, refused.status_code)
        assert "subscriber_count" not in refused.text


def test_the_plugin_adds_a_navigation_entry(api_server):
    token = api_server.token("ops", USERS["ops"][1])
    plugins = get(api_server, "/api/v2/plugins", headers={"Authorization": f"Bearer {token}"}).json()["plugins"]
    (plugin,) = [p for p in plugins if p["name"] == "recon_view"]
    assert plugin["fastapi_apps"][0]["url_prefix"] == "/recon"
    assert plugin["external_views"][0]["url_route"] == "reconciliation"
