"""/api/v1/command: scoped panels, their errors, and their Excel exports."""

from __future__ import annotations

import io
import re

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from puan.accounts.roles import Role
from puan.accounts.tests.factories import make_user
from puan.cases.models import Case, CommandAlert
from puan.command.rollup import rollup_fold
from puan.command.tests.scenario import build, day

pytestmark = pytest.mark.django_db
URL = "/api/v1/command"
PANELS = ("kpis", "map", "hexes", "alerts", "departments", "trend")


@pytest.fixture
def scenario(world):
    s = build(world)
    rollup_fold()
    return s


def _period() -> dict:
    return {"from": day(1).isoformat(), "to": timezone.localdate().isoformat()}


def test_it_answers_every_panel_for_a_district_dispatcher(api, scenario, world):
    api.login_as(scenario.people.dispatcher)
    kpis = api.get(f"{URL}/kpis", _period())
    assert kpis.status_code == 200, kpis.content
    body = kpis.json()
    assert body["unit"] == {"id": world.district.pk, "name": "黄埔区", "level": "district"}
    assert body["period"] == _period()
    assert (body["handled"], body["handled_total"], body["registered"], body["open_red"]) == (5, 6, 8, 1)
    assert body["completion_rate"] == 5 / 7 and body["as_of"] is not None
    for panel in PANELS:
        response = api.get(f"{URL}/{panel}", _period())
        assert response.status_code == 200, (panel, response.content)
    hexes = api.get(f"{URL}/hexes", _period()).json()
    assert sum(c["registered"] for c in hexes["cells"]) == 8 and hexes["unit"]["id"] == world.district.pk
    assert all(len(c["outline"]) == 7 for c in hexes["cells"]) and hexes["period"] == _period()
    trend = api.get(f"{URL}/trend").json()
    assert len(trend["days"]) == 30 and trend["days"][-1]["day"] == timezone.localdate().isoformat()


def test_it_shows_a_street_leader_only_the_street(api, scenario, world):
    leader = make_user(Role.LEADER, unit=world.street_a, username="street_leader")
    api.login_as(leader)
    body = api.get(f"{URL}/kpis", _period()).json()
    assert body["unit"]["id"] == world.street_a.pk  # their own unit by default
    assert [u["name"] for u in body["breadcrumb"]] == ["长洲街"]  # the district is above them
    assert body["registered"] == 7
    features = api.get(f"{URL}/map", {**_period(), "metric": "registered"}).json()["features"]["features"]
    assert [f["properties"]["name"] for f in features] == ["深井社区"]
    down = api.get(f"{URL}/kpis", {**_period(), "unit": world.grid_a2.pk}).json()
    assert [u["name"] for u in down["breadcrumb"]] == ["长洲街", "深井社区", "深井社区第02网格"]
    for panel in PANELS:
        for unit in (world.street_b, world.district, world.grid_b1):
            response = api.get(f"{URL}/{panel}", {"unit": unit.pk})
            assert response.status_code == 404, (panel, unit.name)
            assert response.json()["code"] == "not_found"
    assert api.get(f"{URL}/alerts").json()["items"][0]["case_id"] == scenario.cases["E"].pk
    api.login_as(scenario.people.other_street)
    assert api.get(f"{URL}/alerts").json()["items"] == []


def test_it_refuses_users_without_an_area_and_strangers(api, scenario, world):
    assert api.get(f"{URL}/kpis").status_code == 401
    for user in (scenario.people.justice, scenario.people.volunteer):
        api.login_as(user)
        response = api.get(f"{URL}/kpis")
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"


def test_it_rejects_bad_input_with_422(api, scenario, world):
    api.login_as(scenario.people.dispatcher)
    bad = [
        ("kpis", {"from": "2026-05-01", "to": "2026-04-01"}, "from"),
        ("kpis", {"from": "not-a-date"}, "from"),
        ("map", {"metric": "nonsense"}, "metric"),
        ("hexes", {"res": 12}, "res"),
        ("departments", {"sort": "name"}, "sort"),
        ("kpis", {"unit": "x"}, "unit"),
    ]
    for panel, params, field in bad:
        response = api.get(f"{URL}/{panel}", params)
        assert response.status_code == 422, (panel, params, response.content)
        assert response.json()["field"] == field, (panel, params, response.json())
    assert api.get(f"{URL}/kpis", {"unit": 999_999}).status_code == 404
    assert api.get(f"{URL}/kpis", {"unit": world.justice.pk}).status_code == 404  # not an area


def _sheet(response):
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    return load_workbook(io.BytesIO(response.content)).active


def test_it_exports_every_panel_to_excel(api, scenario, world):
    api.login_as(scenario.people.dispatcher)
    params = {**_period(), "format": "xlsx"}
    kpis = _sheet(api.get(f"{URL}/kpis", params))
    values = {kpis.cell(row=r, column=1).value: kpis.cell(row=r, column=2).value for r in range(5, kpis.max_row + 1)}
    assert values["期内办结（件）"] == 5 and values["累计办结（件）"] == 6
    assert values["办结率"] == pytest.approx(5 / 7, abs=0) and values["当前在办·红色（件）"] == 1
    assert kpis.cell(row=1, column=1).value == "核心指标" and "黄埔区" in kpis.cell(row=2, column=1).value

    rows = list(_sheet(api.get(f"{URL}/map", {**params, "metric": "registered"})).iter_rows(values_only=True))
    assert ("长洲街", 7) in rows and ("云埔街", 1) in rows

    depts = list(_sheet(api.get(f"{URL}/departments", params)).iter_rows(min_row=5, values_only=True))
    # Too few cases behind either on-time rate (the default minimum is 5): listed, no rank.
    assert depts[0][:4] == (None, "公安分局", 1, 1) and depts[1][:4] == (None, "区司法局", 3, 2)
    assert any("不排名次" in str(r[0]) for r in depts if r[0])

    trend = _sheet(api.get(f"{URL}/trend", params))
    assert trend.max_row >= 4 + (timezone.localdate() - day(1)).days + 1

    hexes = list(_sheet(api.get(f"{URL}/hexes", params)).iter_rows(min_row=5, values_only=True))
    assert sum(r[1] for r in hexes if isinstance(r[1], int)) == 8

    alerts = list(_sheet(api.get(f"{URL}/alerts", {"format": "xlsx"})).iter_rows(min_row=5, values_only=True))
    assert alerts[0][1] == scenario.cases["E"].tracking_code and alerts[0][4] == "红色"


def test_it_polls_the_red_feed_with_after(api, scenario, world):
    api.login_as(scenario.people.leader)
    first = api.get(f"{URL}/alerts").json()
    assert len(first["items"]) == 1 and first["last_id"] == first["items"][0]["id"]
    assert first["items"][0]["place"] == "长洲街 · 深井社区 · 深井社区第02网格"
    again = api.get(f"{URL}/alerts", {"after": first["last_id"]}).json()
    assert again["items"] == [] and again["last_id"] == first["last_id"]


def test_it_lets_the_command_centre_sign_for_an_alert_of_its_area(api, scenario, world):
    api.login_as(scenario.people.leader)
    alert = api.get(f"{URL}/alerts").json()["items"][0]
    assert (alert["acknowledged"], alert["acknowledged_at"]) == (False, None)
    case = scenario.cases["E"]
    version = Case.objects.get(pk=case.pk).version
    # Out of reach: another street's leader, or an id nobody has (404); no area at all (403).
    api.login_as(scenario.people.other_street)
    for alert_id in (alert["id"], 999_999, 2**70):
        response = api.post(f"{URL}/alerts/{alert_id}/acknowledge")
        assert response.status_code == 404, (alert_id, response.content)
    api.login_as(scenario.people.justice)
    assert api.post(f"{URL}/alerts/{alert['id']}/acknowledge").status_code == 403
    assert not CommandAlert.objects.get(pk=alert["id"]).acknowledged_at
    api.login_as(scenario.people.dispatcher)
    signed = api.post(f"{URL}/alerts/{alert['id']}/acknowledge")
    assert signed.status_code == 200, signed.content
    assert signed.json()["acknowledged"] and signed.json()["acknowledged_at"]
    row = CommandAlert.objects.get(pk=alert["id"])
    assert row.acknowledged_by == scenario.people.dispatcher
    # Signing again keeps the first signature; the case itself has not moved.
    api.login_as(scenario.people.leader)
    again = api.post(f"{URL}/alerts/{alert['id']}/acknowledge").json()
    assert again["acknowledged_at"] == signed.json()["acknowledged_at"]
    assert CommandAlert.objects.get(pk=alert["id"]).acknowledged_by == scenario.people.dispatcher
    assert Case.objects.get(pk=case.pk).version == version
    assert api.get(f"{URL}/alerts").json()["items"][0]["acknowledged"] is True


def test_every_screen_of_the_area_learns_of_a_signature_at_its_next_poll(api, scenario, world):
    api.login_as(scenario.people.leader)
    feed = api.get(f"{URL}/alerts").json()
    assert feed["signed"] == []
    alert_id, last = feed["items"][0]["id"], feed["last_id"]
    poll = {"after": last, "unsigned": [alert_id, 999_999]}  # repeated in the query string
    assert api.get(f"{URL}/alerts", poll).json()["signed"] == []  # nobody has signed yet
    api.login_as(scenario.people.dispatcher)
    signed_at = api.post(f"{URL}/alerts/{alert_id}/acknowledge").json()["acknowledged_at"]
    api.login_as(scenario.people.leader)
    answer = api.get(f"{URL}/alerts", poll).json()
    assert answer["items"] == [] and answer["last_id"] == last
    assert answer["signed"] == [{"id": alert_id, "acknowledged_at": signed_at}]
    # Another area's screen learns nothing of it, whatever ids it sends.
    api.login_as(scenario.people.other_street)
    assert api.get(f"{URL}/alerts", {"unsigned": [alert_id]}).json()["signed"] == []
    for bad in (list(range(1, 102)), [2**63], [0], ["x"]):  # too many, too large, no such id, no id
        refused = api.get(f"{URL}/alerts", {"unsigned": bad})
        assert refused.status_code == 422 and "unsigned" in refused.content.decode(), (bad, refused.content)


def test_the_wall_screen_signs_with_its_session_and_csrf_token(scenario, world):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(scenario.people.dispatcher)
    page = browser.get("/command/")
    assert page.status_code == 200
    token = re.search(r'data-csrf="([^"]+)"', page.content.decode()).group(1)
    alert = CommandAlert.objects.get(case=scenario.cases["E"])
    url = f"{URL}/alerts/{alert.pk}/acknowledge"
    assert browser.post(url).status_code == 403  # no token: refused, nothing signed
    assert CommandAlert.objects.get(pk=alert.pk).acknowledged_at is None
    assert browser.post(url, headers={"X-CSRFToken": token}).status_code == 200
    assert CommandAlert.objects.get(pk=alert.pk).acknowledged_at is not None
