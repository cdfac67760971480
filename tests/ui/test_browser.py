"""A person's walk through the view in real headless Chromium (Debian's, driven by Playwright):
log in on Airflow's login page, open the menu entry, read the matrix, drill into cohort B's
blocked Mini Recon 1, open its trends. Screenshots go to tests/artefacts/ui/."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.ui.conftest import ARTEFACTS, USERS

pytestmark = [pytest.mark.dags, pytest.mark.timeout(1200)]

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser_page(tmp_path):
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed (scripts/bootstrap.sh installs it: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # A persistent context is how Playwright takes a fresh --user-data-dir of our own.
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=FLAGS,
            viewport={"width": 1500, "height": 900},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(90_000)
            yield page
        finally:
            context.close()


def shot(page, name: str) -> Path:
    path = ARTEFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_login_overview_drill_down_and_trends(api_server, recon_world, browser_page):
    page, env = browser_page, recon_world.env
    shutil.rmtree(ARTEFACTS / "pages", ignore_errors=True)

    # Anonymous: the view refuses and points at Airflow's login page.
    answer = page.goto(f"{api_server.url}/recon/?env={env}")
    assert answer.status == 401 and page.get_by_text("Log in to Airflow").is_visible()
    page.get_by_text("Log in to Airflow").click()
    page.locator("input[name=username]").fill("ops")
    page.locator("input[name=password]").fill(USERS["ops"][1])
    shot(page, "01-login")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/login" not in url)

    # The navigation entry: Airflow's own page with the view in its frame.
    page.goto(f"{api_server.url}/plugin/reconciliation")
    frame = page.frame_locator("iframe")
    frame.locator("#cohort-matrix").wait_for()
    assert frame.locator(f"tr.cohort-row[data-env={env}]").count() == 2
    shot(page, "02-airflow-menu-entry")

    # Overview: A all green, B blocked at Mini Recon 1 with its failed checks counted.
    page.goto(f"{api_server.url}/recon/?env={env}")
    assert page.locator("tr.cohort-row").count() == 2  # the env filter leaves the demo's configured cohorts out
    a = page.locator("tr.cohort-row[data-cohort=A] .cell")
    assert a.count() == 8 and {a.nth(i).get_attribute("data-status") for i in range(8)} == {"Match"}
    mr1 = page.locator("tr.cohort-row[data-cohort=B] .cell[data-hop=mini_recon_1]")
    assert mr1.get_attribute("data-status") == "Blocked"
    failed = int(mr1.locator(".failed-count").inner_text().split(" of ")[0])
    assert failed > 0
    assert "blocked at Mini Recon 1" in page.locator("tr.cohort-row[data-cohort=B]").inner_text()
    shot(page, "03-overview")

    # Cohort B: prefixes and batches per hop, the gate decisions.
    page.locator("tr.cohort-row[data-cohort=B] td a", has_text="B").first.click()
    page.locator("#scope-tree").wait_for()
    assert "Blocked" in page.locator("table.decisions").inner_text()
    # Results the earlier (clean) run left behind are marked as such, never read as this run's.
    assert page.locator("#scope-tree a.cell.stale").count() > 0
    assert all(t.startswith("earlier run: ") for t in page.locator("#scope-tree a.cell.stale").all_inner_texts())
    shot(page, "04-cohort")

    # Drill-down: the blocked hop's failed checks with expected, actual and discrepancy; the gate.
    page.goto(f"{api_server.url}/recon/?env={env}")
    page.locator("tr.cohort-row[data-cohort=B] .cell[data-hop=mini_recon_1] a").click()
    page.locator("table.checks").wait_for()
    failing = page.locator("tr.check-row[data-status=Mismatch]")
    assert failing.count() == failed
    assert page.locator("#failed-summary").inner_text().startswith(f"{failed} of ")
    assert "Blocked" in page.locator("table.decisions").inner_text()
    text = page.locator("table.checks").inner_text()
    assert "subscribers_by_status" in text or "balance" in text
    assert not re.search(r"\b628\d{9}\b", text)  # MSISDNs only ever masked
    shot(page, "05-hop-checks")

    # Trends: the faulted run's discrepancy after the clean run's zero, match % and durations.
    page.locator("a", has_text="trends").first.click()
    page.locator("#charts svg.chart").first.wait_for()
    page.locator("select[name=pick]").select_option(
        label="Mini Recon 1 · cohort_mini_recon_1_balances · pulsa_balance_total"
    )
    page.wait_for_url(re.compile(r"check=pulsa_balance_total"))
    charts = page.locator("#charts svg.chart")
    charts.first.wait_for()
    assert charts.count() == 3
    points = charts.nth(0).locator("circle.chart-point")
    assert points.count() == 2  # clean run, faulted run
    titles = [points.nth(i).locator("title").text_content() for i in range(2)]
    assert titles[0].endswith(": 0") and not titles[1].endswith(": 0"), titles
    assert charts.nth(2).locator("circle.chart-point").count() >= 2
    shot(page, "06-trends")

    # A batch-load job is a row too: its newest run's checks, the lost rows of worker w03.
    page.goto(f"{api_server.url}/recon/?env={env}")
    page.locator(f"tr.batch-row[data-job={recon_world.batch_job}] a").click()
    page.locator("table.checks").wait_for()
    lost = page.locator("tr.check-row[data-status=Mismatch]", has_text="workers_vs_staging_by_worker")
    assert lost.count() == 1 and "w03" in lost.inner_text()
    shot(page, "07-batch-load-job")
