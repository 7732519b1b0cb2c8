from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from puan.cases.tests.helpers import People
from puan.supervision.models import SupervisionOrder
from puan.supervision.tests.factories import issue, overdue_case

pytestmark = pytest.mark.django_db

BASE = "/api/v1/supervision"


@pytest.fixture
def people(world):
    return People(world)


def order_in(world, cases, **extra) -> dict:
    return {
        "kind": "supervision",
        "unit_id": world.community_a.pk,
        "title": "关于深井社区超期案件的督办",
        "instructions": "请于三日内办结并书面反馈。",
        "case_ids": [c.pk for c in cases],
        "deadline": (timezone.now() + timedelta(days=3)).isoformat(),
        **extra,
    }


def test_it_issues_an_order_and_answers_with_its_cases_and_timeline(api, people, world):
    case = overdue_case(people, world.grid_a1)
    response = api.login_as(people.dispatcher).post(f"{BASE}/orders", order_in(world, [case]))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["code"] == f"DB{timezone.localdate().year}-0001" and body["kind_label"] == "督办"
    assert body["state"] == "issued" and body["version"] == 1 and body["unit"]["name"] == "深井社区"
    assert [c["tracking_code"] for c in body["cases"]] == [case.tracking_code]
    assert body["cases"][0]["is_overdue"] is True
    assert [e["kind"] for e in body["timeline"]] == ["issue"]
    assert body["allowed_actions"] == []  # the centre waits for the unit
    case_view = api.get(f"/api/v1/cases/{case.pk}").json()
    assert case_view["timeline"][-1]["kind"] == "supervision_issued"


def test_it_answers_a_retried_issue_with_the_first_order(api, people, world):
    payload = order_in(world, [overdue_case(people, world.grid_a1)])
    api.login_as(people.dispatcher)
    headers = {"Idempotency-Key": "issue-0001"}
    first = api.post(f"{BASE}/orders", payload, headers=headers)
    again = api.post(f"{BASE}/orders", payload, headers=headers)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert SupervisionOrder.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "rumour"}, "kind"),
        ({"deadline": "2020-01-01T00:00:00+08:00"}, "deadline"),
        ({"case_ids": []}, "case_ids"),
        ({"case_ids": [987654]}, "case_ids"),
        ({"unit_id": 987654}, "unit_id"),
        ({"title": ""}, "title"),
    ],
)
def test_it_answers_bad_input_with_422_and_the_field(api, people, world, changes, field):
    payload = order_in(world, [overdue_case(people, world.grid_a1)], **changes)
    response = api.login_as(people.dispatcher).post(f"{BASE}/orders", payload)
    assert response.status_code == 422, response.content
    assert response.json()["field"] == field


@pytest.mark.parametrize("who", ["street", "leader", "community"])
def test_it_refuses_issue_to_all_but_the_centre(api, people, world, who):
    payload = order_in(world, [overdue_case(people, world.grid_a1)])
    response = api.login_as(getattr(people, who)).post(f"{BASE}/orders", payload)
    assert response.status_code == 403 and response.json()["code"] == "forbidden"


def test_it_lists_orders_in_scope_with_filters_and_paging(api, people, world):
    a = issue(people, world.community_a, [overdue_case(people, world.grid_a1)])
    issue(people, world.community_a, [overdue_case(people, world.grid_a2)], kind="reminder")
    issue(people, world.community_b, [overdue_case(people, world.grid_b1)])
    SupervisionOrder.objects.filter(pk=a.pk).update(deadline=timezone.now() - timedelta(hours=1))

    api.login_as(people.dispatcher)
    everything = api.get(f"{BASE}/orders", {"limit": 2}).json()
    assert everything["count"] == 3 and len(everything["items"]) == 2
    assert len(api.get(f"{BASE}/orders", {"limit": 2, "offset": 2}).json()["items"]) == 1
    assert api.get(f"{BASE}/orders", {"kind": "reminder"}).json()["count"] == 1
    assert api.get(f"{BASE}/orders", {"unit": world.street_b.pk}).json()["count"] == 1
    overdue = api.get(f"{BASE}/orders", {"overdue": "true"}).json()
    assert [o["code"] for o in overdue["items"]] == [a.code] and overdue["items"][0]["is_overdue"] is True
    assert api.get(f"{BASE}/orders", {"state": ["issued", "closed"]}).json()["count"] == 3
    assert api.get(f"{BASE}/orders", {"kind": "gossip"}).status_code == 422

    mine = api.login_as(people.community).get(f"{BASE}/orders").json()
    assert mine["count"] == 2
    assert api.login_as(people.other_community).get(f"{BASE}/orders").json()["count"] == 1


def test_it_hides_an_order_from_other_units(api, people, world):
    order = issue(people, world.community_a, [overdue_case(people, world.grid_a1)])
    response = api.login_as(people.other_community).get(f"{BASE}/orders/{order.pk}")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    act = api.post(f"{BASE}/orders/{order.pk}/actions/acknowledge", {"version": 1})
    assert act.status_code == 404
    assert api.login_as(people.street).get(f"{BASE}/orders/{order.pk}").status_code == 200


def test_it_runs_the_lifecycle_through_the_api(api, people, world):
    order = issue(people, world.community_a, [overdue_case(people, world.grid_a1)])
    url = f"{BASE}/orders/{order.pk}/actions"
    unit = api.login_as(people.community)
    assert unit.get(f"{BASE}/orders/{order.pk}").json()["allowed_actions"] == ["acknowledge", "respond"]
    body = unit.post(f"{url}/acknowledge", {"version": 1, "note": "已签收"}).json()
    assert body["state"] == "acknowledged" and body["version"] == 2
    missing = unit.post(f"{url}/respond", {"version": 2})
    assert missing.status_code == 422 and missing.json()["field"] == "response"
    body = unit.post(f"{url}/respond", {"version": 2, "response": "已调解完毕"}).json()
    assert body["state"] == "responded" and body["response"] == "已调解完毕"

    centre = api.login_as(people.dispatcher)
    no_note = centre.post(f"{url}/return", {"version": 3})
    assert no_note.status_code == 422 and no_note.json()["field"] == "note"
    body = centre.post(f"{url}/return", {"version": 3, "note": "请补充调解协议"}).json()
    assert body["state"] == "issued" and body["return_count"] == 1
    body = api.login_as(people.community).post(f"{url}/respond", {"version": 4, "response": "已补充"}).json()
    body = api.login_as(people.dispatcher).post(f"{url}/close", {"version": 5, "note": "同意"}).json()
    assert body["state"] == "closed" and body["state_label"] == "已办结"
    assert [e["seq"] for e in body["timeline"]] == [1, 2, 3, 4, 5, 6]
    assert [e["kind"] for e in body["timeline"]] == ["issue", "acknowledge", "respond", "return", "respond", "close"]


def test_it_answers_409_for_a_stale_version_or_a_wrong_state(api, people, world):
    order = issue(people, world.community_a, [overdue_case(people, world.grid_a1)])
    url = f"{BASE}/orders/{order.pk}/actions"
    api.login_as(people.community)
    stale = api.post(f"{url}/acknowledge", {"version": 9})
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    assert api.post(f"{url}/acknowledge", {"version": 1}).status_code == 200
    again = api.post(f"{url}/acknowledge", {"version": 2})
    assert again.status_code == 409 and again.json()["code"] == "wrong_state"


def test_it_answers_403_to_the_read_only_and_to_the_wrong_side(api, people, world):
    order = issue(people, world.community_a, [overdue_case(people, world.grid_a1)])
    url = f"{BASE}/orders/{order.pk}/actions"
    assert api.login_as(people.leader).post(f"{url}/acknowledge", {"version": 1}).status_code == 403
    assert api.login_as(people.street).post(f"{url}/respond", {"version": 1, "response": "x"}).status_code == 403
    assert api.login_as(people.community).post(f"{url}/close", {"version": 1}).status_code == 403
    assert api.login_as(people.leader).get(f"{BASE}/orders/{order.pk}").json()["allowed_actions"] == []


def test_it_answers_405_for_the_wrong_method_and_422_for_an_unknown_action(api, people, world):
    order = issue(people, world.community_a, [overdue_case(people, world.grid_a1)])
    api.login_as(people.community)
    assert api.get(f"{BASE}/orders/{order.pk}/actions/acknowledge").status_code == 405
    assert api.delete(f"{BASE}/orders/{order.pk}").status_code == 405
    assert api.post(f"{BASE}/orders/{order.pk}/actions/approve", {"version": 1}).status_code == 422


def test_it_asks_for_a_login(api, people, world):
    assert api.get(f"{BASE}/orders").status_code == 401


def test_it_lists_a_units_overdue_cases(api, people, world):
    late = overdue_case(people, world.grid_a1)
    overdue_case(people, world.grid_b1)
    body = api.login_as(people.dispatcher).get(f"{BASE}/overdue-cases", {"unit": world.community_a.pk}).json()
    assert body["count"] == 1 and body["items"][0]["tracking_code"] == late.tracking_code
    assert body["items"][0]["under_supervision"] is False
    hidden = api.login_as(people.other_community).get(f"{BASE}/overdue-cases", {"unit": world.community_a.pk})
    assert hidden.status_code == 404


def test_it_shows_orders_read_only_in_the_admin(people, world):
    from django.test import Client

    from puan.accounts.roles import Role
    from puan.accounts.tests.factories import make_user

    order = issue(people, world.community_a, [overdue_case(people, world.grid_a1)])
    client = Client()
    client.force_login(make_user(Role.ADMIN, unit=world.district))
    listing = client.get("/admin/supervision/supervisionorder/")
    assert listing.status_code == 200 and order.code in listing.content.decode()
    page = client.get(f"/admin/supervision/supervisionorder/{order.pk}/change/")
    assert page.status_code == 200 and "深井社区" in page.content.decode()
    assert client.get("/admin/supervision/supervisionorder/add/").status_code == 403
    assert client.post(f"/admin/supervision/supervisionorder/{order.pk}/delete/", {"post": "yes"}).status_code == 403
    assert SupervisionOrder.objects.filter(pk=order.pk).exists()
