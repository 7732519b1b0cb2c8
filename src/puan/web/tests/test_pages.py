"""What every page owes: a content security policy, no inline script, labelled inputs,
CSRF, the start page per role, and the administration screens."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from puan.accounts.roles import Role
from puan.accounts.tests.factories import make_user
from puan.cases.tests.helpers import People, intake
from puan.web.middleware import ADMIN_CSP, CSP

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(world):
    return People(world)


def client_for(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


class FormAudit(HTMLParser):
    """Collects controls without a label and <script> elements the policy would block."""

    CONTROLS = {"input", "select", "textarea"}
    UNLABELLED_OK = {"hidden", "submit", "button", "reset", "image"}

    def __init__(self):
        super().__init__()
        self.labels_for: set[str] = set()
        self.controls: list[dict] = []
        self.inline_scripts = 0
        self.inline_styles = 0
        self.handlers: list[str] = []
        self._label_depth = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "label":
            self._label_depth += 1
            if a.get("for"):
                self.labels_for.add(a["for"])
        if tag == "script" and not a.get("src") and a.get("type") != "application/json":
            self.inline_scripts += 1
        if tag == "style" or "style" in a:
            self.inline_styles += 1
        self.handlers += [name for name in a if name.startswith("on")]
        if tag in self.CONTROLS and a.get("type", "text") not in self.UNLABELLED_OK:
            self.controls.append({**a, "_tag": tag, "_wrapped": self._label_depth > 0})

    def handle_endtag(self, tag):
        if tag == "label":
            self._label_depth -= 1

    def unlabelled(self) -> list[str]:
        return [
            c.get("name") or c.get("id") or c["_tag"]
            for c in self.controls
            if not (c["_wrapped"] or c.get("aria-label") or (c.get("id") and c["id"] in self.labels_for))
        ]


def pages(people, case) -> list[tuple[object, str]]:
    return [
        (None, "/login/"),
        (None, "/public/"),
        (None, "/public/appeal/"),
        (None, "/public/track/"),
        (people.community, "/work/"),
        (people.community, f"/work/cases/{case.pk}/"),
        (people.community, "/intake/"),
        (people.community, "/account/password/"),
        (people.community, "/inbox/"),
        (people.grid_worker, "/m/"),
        (people.street, f"/work/cases/{case.pk}/"),
    ]


def test_every_page_has_the_policy_labels_and_no_inline_script(people):
    case = intake(people.grid_worker, category="G10-01").case
    for user, url in pages(people, case):
        response = client_for(user).get(url)
        assert response.status_code == 200, url
        assert response["Content-Security-Policy"] == CSP, url
        assert response["X-Frame-Options"] == "DENY", url
        audit = FormAudit()
        audit.feed(response.content.decode())
        assert audit.inline_scripts == 0, f"{url}: inline <script>"
        assert audit.inline_styles == 0, f"{url}: inline style"
        assert audit.handlers == [], f"{url}: inline event handlers {audit.handlers}"
        assert audit.unlabelled() == [], f"{url}: inputs without a label: {audit.unlabelled()}"


def test_the_policy_forbids_inline_code_and_relaxes_only_admin_styles(people):
    assert "script-src 'self';" in CSP and "unsafe" not in CSP
    assert "frame-ancestors 'none'" in CSP and "object-src 'none'" in CSP
    admin = make_user(Role.ADMIN, unit=people.tree.district)
    response = client_for(admin).get("/admin/")
    assert response["Content-Security-Policy"] == ADMIN_CSP
    assert "style-src 'self' 'unsafe-inline'" in ADMIN_CSP and "script-src 'self';" in ADMIN_CSP
    # The JSON API carries it too: nothing served here may run inline code.
    assert client_for(people.community).get("/api/v1/me")["Content-Security-Policy"] == CSP


def test_it_tells_htmx_to_inject_no_style_and_evaluate_nothing(people):
    html = client_for(people.community).get("/work/").content.decode()
    config = re.search(r'<meta name="htmx-config" content=\'(.*?)\'>', html).group(1)
    assert '"includeIndicatorStyles": false' in config and '"allowEval": false' in config
    assert 'hx-headers=\'{"X-CSRFToken": "' in html


def test_every_form_post_needs_the_csrf_token(people):
    case = intake(people.grid_worker).case
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(people.community)
    for url, data in [
        (f"/work/cases/{case.pk}/moves/accept/", {"version": case.version}),
        ("/intake/", {"title": "x"}),
        ("/logout/", {}),
        ("/account/password/", {}),
    ]:
        response = strict.post(url, data)
        assert response.status_code == 403, url
        assert "安全校验失败" in response.content.decode(), url
    case.refresh_from_db()
    assert case.state == "registered"


def test_the_start_page_depends_on_who_signs_in(people):
    assert client_for().get("/").url == "/login/"
    assert client_for(people.grid_worker).get("/").url == "/m/"
    assert client_for(people.justice).get("/").url == "/work/"
    volunteer = make_user(Role.VOLUNTEER, username="vol")
    assert client_for(volunteer).get("/").url == "/public/"
    assert client_for(volunteer).get("/work/").status_code == 403  # no unit: not a workbench user
    # Nor one attached to a grid: a volunteer reports and follows reports as a citizen does.
    on_patrol = client_for(people.volunteer)
    assert on_patrol.get("/").url == "/public/"
    for url in ("/work/", "/intake/", "/m/"):
        assert on_patrol.get(url).status_code == 403, url
    public = on_patrol.get("/public/").content.decode()
    assert 'href="/work/"' not in public and 'href="/intake/"' not in public  # nor offered
    assert client_for().post("/").status_code == 405


def test_the_navigation_offers_what_the_role_may_use(people):
    leader = client_for(people.leader).get("/work/").content.decode()
    assert 'href="/work/"' in leader and 'href="/intake/"' not in leader and 'href="/admin/"' not in leader
    grid = client_for(people.grid_worker).get("/work/").content.decode()
    assert 'href="/m/"' in grid
    admin = make_user(Role.ADMIN, unit=people.tree.district)
    assert 'href="/admin/"' in client_for(admin).get("/work/").content.decode()


ADMIN_SCREENS = [
    "org/unit",
    "accounts/user",
    "taxonomy/itemgroup",
    "taxonomy/category",
    "sla/slapolicy",
    "sla/calendarday",
    "cases/riskrule",
    "gridops/patrolcheckin",
]


def test_each_administration_screen_loads_for_an_administrator(people):
    admin = make_user(Role.ADMIN, unit=people.tree.district)
    client = client_for(admin)
    index = client.get("/admin/").content.decode()
    for screen in ADMIN_SCREENS:
        assert f"/admin/{screen}/" in index, screen
        assert client.get(f"/admin/{screen}/").status_code == 200, screen
        assert client.get(f"/admin/{screen}/add/").status_code == 200, screen
    unit = client.get(f"/admin/org/unit/{people.tree.grid_a1.pk}/change/")
    assert unit.status_code == 200 and "深井社区第01网格" in unit.content.decode()
    assert client_for(people.dispatcher).get("/admin/").status_code == 302  # administrators only
