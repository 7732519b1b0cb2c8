"""Drive the real pages in headless Chromium (Debian's, at /usr/bin/chromium).

Every page opened through `open_page` records console errors, uncaught exceptions and
content-security-policy violations; a test fails at the end if any occurred. Screenshots
go to artifacts/screenshots/ (kept by CI as test artefacts).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from puan.conftest import tree, world  # noqa: F401 - the shared data fixtures, for these tests too

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls
# (building data, checking results) are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("PUAN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}

# Console lines that are not faults: the browser reports every 4xx answer as a failed
# resource (the tests check refusals explicitly), and requests cut off while offline.
IGNORED = ("the server responded with a status of 4", "net::ERR_INTERNET_DISCONNECTED")


@dataclass
class Problems:
    console: list[str] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (make test installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(
    e.violatedDirective + " " + (e.blockedURI || "inline") + " @" + e.sourceFile + ":" + e.lineNumber
  );
});
"""


@pytest.fixture
def open_page(browser, live_server) -> Iterator:
    """open_page(user=None, phone=False, geolocation=None) -> (context, page), the user
    already signed in (through a real session cookie)."""
    from django.test import Client

    contexts = []
    problems = Problems()

    def _open(user=None, *, phone: bool = False, geolocation: tuple[float, float] | None = None):
        options = {
            "viewport": PHONE if phone else DESKTOP,
            "locale": "zh-CN",
            "base_url": live_server.url,
        }
        if phone:
            options |= {"is_mobile": True, "has_touch": True, "device_scale_factor": 2}
        if geolocation:
            options |= {"geolocation": {"longitude": geolocation[0], "latitude": geolocation[1]}}
            options |= {"permissions": ["geolocation"]}
        context = browser.new_context(**options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        if user is not None:
            client = Client()
            client.force_login(user)
            host = live_server.url.split("//", 1)[1].split(":")[0]
            context.add_cookies(
                [{"name": "sessionid", "value": client.cookies["sessionid"].value, "domain": host, "path": "/"}]
            )
        page = context.new_page()
        page.add_init_script(CSP_LISTENER)

        def on_console(message):
            text = message.text
            if "Content Security Policy" in text or "Refused to" in text:
                problems.csp.append(text)
            elif message.type == "error" and not any(i in text for i in IGNORED):
                problems.console.append(f"{page.url}: {text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: problems.console.append(f"{page.url}: uncaught {error}"))
        return context, page

    yield _open
    for context in contexts:
        for page in context.pages:
            # A closed or navigating page has nothing more to say.
            with contextlib.suppress(Exception):
                problems.csp += page.evaluate("window.__cspViolations || []")
        context.close()
    assert not problems.csp, f"content security policy violations: {problems.csp}"
    assert not problems.console, f"errors in the browser console: {problems.console}"
