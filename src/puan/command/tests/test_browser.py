"""The command centre in headless Chromium: the page loads, draws the map and the KPIs,
drills down one level on a click, and breaks no content-security rule. Screenshots (wall
screen and laptop) go to artifacts/screenshots/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from puan.cases.models import CommandAlert
from puan.cases.tests.helpers import intake
from puan.command.rollup import rollup_fold
from puan.command.services import alert_acknowledge
from puan.command.tests.scenario import build

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = os.environ.get("PUAN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SHOTS = Path(__file__).resolve().parents[4] / "artifacts" / "screenshots"
WALL = {"width": 1920, "height": 1080}
LAPTOP = {"width": 1366, "height": 768}
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " @" + e.sourceFile);
});
"""


@pytest.fixture
def chromium():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    # Playwright's sync API runs an event loop in this thread; our ORM calls stay plain.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from django.db import connections
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            # Inside Playwright's greenlet Django keeps a connection of its own (its
            # connections are context-local): close it, or PostgreSQL refuses to drop the
            # test database at the end of the run.
            connections.close_all()


def _signed_in(browser, live_server, user, viewport):
    from django.test import Client

    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport=viewport, locale="zh-CN", base_url=live_server.url)
    context.set_default_timeout(20_000)
    host = live_server.url.split("//", 1)[1].split(":")[0]
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "domain": host, "path": "/"}]
    )
    page = context.new_page()
    page.add_init_script(CSP_LISTENER)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"uncaught {error}"))
    page.on(
        "console",
        lambda m: problems.append(m.text) if m.type == "error" or "Content Security Policy" in m.text else None,
    )
    return context, page, problems


def _close(context, page) -> None:
    """Leave the page first, so that no poll is still being answered (holding a database
    connection) when the test database is dropped."""
    page.goto("about:blank")
    page.wait_for_timeout(300)
    context.close()


def test_it_loads_the_wall_screen_and_drills_down(transactional_db, world, live_server, chromium):
    scenario = build(world)
    rollup_fold()
    SHOTS.mkdir(parents=True, exist_ok=True)
    context, page, problems = _signed_in(chromium, live_server, scenario.people.dispatcher, WALL)

    page.goto("/command/")
    page.wait_for_selector('#cc[data-loaded="true"]')
    # The KPIs: six cases ever handled, the period's two open ones (E red, G orange).
    assert page.text_content('[data-kpi="handled_total"]') == "6"
    assert page.text_content('[data-kpi="open_red"]') == "1"
    assert page.text_content('[data-kpi="intake"]') == "2"
    # The map: ECharts drew the streets' outlines on its canvas.
    assert page.locator("#cc-map-chart canvas").count() >= 1
    regions = page.evaluate(
        "echarts.getInstanceByDom(document.getElementById('cc-map-chart')).getOption().series[0].data.map(d => d.name)"
    )
    assert sorted(regions) == sorted(["长洲街", "云埔街"])
    assert page.locator("#cc-alerts li").first.text_content().find("案件E") >= 0
    assert page.locator("#cc-depts tbody tr").count() >= 1
    # The dispatcher signs for the red case's alert on the wall.
    page.locator("#cc-alerts li").first.locator("button.cc-sign").click()
    page.wait_for_selector("#cc-alerts li .cc-signed")
    assert "已签收" in page.locator("#cc-alerts li").first.text_content()
    assert CommandAlert.objects.get(case=scenario.cases["E"]).acknowledged_by_id == scenario.people.dispatcher.pk
    # A new red case comes up at the next poll, unsigned; signed for on another screen, it
    # shows signed here at the poll after.
    red = intake(
        scenario.people.grid_worker, lon_lat=(113.4185, 23.1085), facts={"danger_to_life": True}, title="河涌边有人落水"
    ).case
    page.wait_for_selector("#cc-alerts li.cc-new button.cc-sign")
    assert "河涌边有人落水" in page.locator("#cc-alerts li").first.text_content()
    alert_acknowledge(user=scenario.people.leader, alert_id=CommandAlert.objects.get(case=red).pk)
    page.wait_for_selector("#cc-alerts li.cc-new .cc-signed")
    assert page.locator("#cc-alerts button.cc-sign").count() == 0
    page.wait_for_timeout(800)  # let the charts' entry animation finish before the picture
    page.screenshot(path=str(SHOTS / "command-wall-district.png"))

    # Drill down: a real mouse click on 长洲街 (grids a1 and a2, 113.40–113.42 E).
    box = page.locator("#cc-map-chart").bounding_box()
    x, y = page.evaluate(
        "echarts.getInstanceByDom(document.getElementById('cc-map-chart'))"
        ".convertToPixel({seriesIndex: 0}, [113.405, 23.105])"
    )
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_selector('#cc-crumbs a[aria-current="page"]:has-text("长洲街")')
    page.wait_for_selector('#cc[data-loaded="true"]')
    assert f"unit={world.street_a.pk}" in page.url
    assert page.text_content('[data-kpi="intake"]') == "1"  # only E is in this street
    assert page.text_content('[data-kpi="open_orange"]') == "0"
    regions = page.evaluate(
        "echarts.getInstanceByDom(document.getElementById('cc-map-chart')).getOption().series[0].data.map(d => d.name)"
    )
    assert regions == ["深井社区"]
    page.wait_for_timeout(800)
    page.screenshot(path=str(SHOTS / "command-wall-street.png"))
    problems += page.evaluate("window.__cspViolations")
    _close(context, page)

    # The same page on a laptop: two columns, scrolling.
    context, page, laptop_problems = _signed_in(chromium, live_server, scenario.people.leader, LAPTOP)
    page.goto("/command/")
    page.wait_for_selector('#cc[data-loaded="true"]')
    page.wait_for_timeout(800)
    page.screenshot(path=str(SHOTS / "command-laptop.png"), full_page=True)
    laptop_problems += page.evaluate("window.__cspViolations")
    _close(context, page)
    assert not problems and not laptop_problems, problems + laptop_problems
