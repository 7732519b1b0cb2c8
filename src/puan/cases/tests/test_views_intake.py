"""Window and hotline intake, and the grid worker's phone page."""

from __future__ import annotations

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from puan.cases import services as svc
from puan.cases.models import Case, Channel
from puan.cases.tests.helpers import IN_GRID_A1, People, intake

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(world):
    return People(world)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form_data(**overrides) -> dict:
    data = {
        "channel": "window",
        "kind": "appeal",
        "category": "G10-01",
        "title": "夜间施工噪音扰民",
        "description": "工地每晚施工至凌晨一点。",
        "address": "深井社区安居路8号",
        "unit_id": "",
        "reporter_name": "李女士",
        "reporter_phone": "13900001111",
    }
    return {**data, **overrides}


def test_it_registers_a_walk_in_case_and_offers_the_receipt(people):
    client = client_for(people.community)
    page = client.get("/intake/")
    html = page.content.decode()
    assert page.status_code == 200 and "登记受理" in html
    assert 'data-map="picker"' in html and '<label for="id_category">事项分类</label>' in html

    response = client.post("/intake/", form_data(unit_id=str(people.tree.community_a.pk)))
    assert response.status_code == 302, response.content.decode()[:1000]
    case = Case.objects.get()
    assert response.url == f"/intake/done/{case.pk}/"
    assert (case.channel, case.kind, case.community_id) == (Channel.WINDOW, "appeal", people.tree.community_a.pk)
    done = client.get(response.url).content.decode()
    assert case.tracking_code in done and f"/work/cases/{case.pk}/receipt.pdf" in done


def test_it_hands_on_a_report_that_joined_a_case_outside_the_clerks_scope(people):
    lon, lat = IN_GRID_A1
    theirs = intake(people.grid_worker, category="G10-01", kind="event", title="张家门口夜间施工").case
    client = client_for(people.other_community)
    # The form warns of the merge before it happens, without naming the case.
    warned = client.get("/intake/similar/", {"category": "G10-01", "lon": str(lon + 0.0004), "lat": str(lat)})
    assert 'data-merge-into="hidden"' in warned.content.decode()
    assert theirs.tracking_code not in warned.content.decode()
    response = client.post("/intake/", form_data(lon=str(lon + 0.0004), lat=str(lat)))
    assert response.status_code == 302 and response.url == f"/intake/done/{theirs.pk}/?linked=1"
    done = client.get(response.url)
    html = done.content.decode()
    assert done.status_code == 200 and "已合并为重复反映" in html
    assert theirs.tracking_code in html and "夜间施工噪音扰民" in html  # the clerk's own report
    assert "张家门口" not in html and f"/work/cases/{theirs.pk}/" + '"' not in html
    receipt = client.get(f"/work/cases/{theirs.pk}/receipt.pdf?joined=1")
    assert receipt.status_code == 200 and receipt.content.startswith(b"%PDF")
    # Another session of the same clerk's unit did not make that report: the case stays hidden.
    stranger = client_for(people.other_community)
    assert stranger.get(f"/intake/done/{theirs.pk}/?linked=1").status_code == 404
    assert stranger.get(f"/work/cases/{theirs.pk}/receipt.pdf").status_code == 404
    theirs.refresh_from_db()
    assert theirs.report_count == 2


@pytest.mark.parametrize("clerk", ["other_community", "justice"])
def test_it_hands_on_a_case_the_clerk_opened_outside_their_scope(people, clerk):
    """A window takes reports from the whole district: a community's clerk files for
    another community, a department's window for any. The clerk still gets the code and the
    receipt to hand over, but not the case, which its own unit handles."""
    client = client_for(getattr(people, clerk))
    response = client.post("/intake/", form_data(unit_id=str(people.tree.community_a.pk)))
    assert response.status_code == 302, response.content.decode()[:1000]
    case = Case.objects.get()
    assert case.community_id == people.tree.community_a.pk and response.url == f"/intake/done/{case.pk}/"
    done = client.get(response.url)
    html = done.content.decode()
    assert done.status_code == 200 and "登记成功" in html and "已合并为重复反映" not in html
    assert case.tracking_code in html and "该案件不在您的权限范围内" in html
    assert f'href="/work/cases/{case.pk}/"' not in html
    receipt = client.get(f"/work/cases/{case.pk}/receipt.pdf")
    assert receipt.status_code == 200 and receipt.content.startswith(b"%PDF")
    assert client.get(f"/work/cases/{case.pk}/").status_code == 404
    # Another session did not file it.
    stranger = client_for(getattr(people, clerk))
    assert stranger.get(f"/intake/done/{case.pk}/").status_code == 404
    assert stranger.get(f"/work/cases/{case.pk}/receipt.pdf").status_code == 404


def submission_key(html: str) -> str:
    return re.search(r'name="submission" value="([^"]+)"', html)[1]


def test_it_files_a_report_sent_twice_once(people):
    client = client_for(people.community)
    sent = form_data(
        unit_id=str(people.tree.community_a.pk), submission=submission_key(client.get("/intake/").content.decode())
    )
    first, again = client.post("/intake/", sent), client.post("/intake/", sent)  # a double click
    assert first.status_code == again.status_code == 302 and first.url == again.url
    assert Case.objects.count() == 1
    # A fresh form is a fresh report.
    fresh = form_data(
        unit_id=str(people.tree.community_a.pk), submission=submission_key(client.get("/intake/").content.decode())
    )
    assert client.post("/intake/", fresh).status_code == 302 and Case.objects.count() == 2
    # Back to the filed form, a word changed, sent again: refused with the first code, and
    # the form shown again carries a fresh key, with which it files a report of its own.
    changed = {**sent, "title": "夜间施工噪音扰民（补充）"}
    refused = client.post("/intake/", changed)
    html = refused.content.decode()
    first_code = Case.objects.order_by("pk").first().tracking_code
    assert refused.status_code == 422 and "这张表单已经提交过" in html and first_code in html
    assert submission_key(html) != sent["submission"]
    again = client.post("/intake/", {**changed, "submission": submission_key(html)})
    assert again.status_code == 302 and Case.objects.count() == 3


def test_it_takes_the_place_from_a_click_on_the_map(people):
    client = client_for(people.dispatcher)
    response = client.post("/intake/", form_data(lon="113.415", lat="23.105"))
    assert response.status_code == 302
    assert Case.objects.get().grid_id == people.tree.grid_a2.pk


def test_it_shows_errors_in_chinese_next_to_the_fields(people):
    client = client_for(people.community)
    response = client.post("/intake/", form_data(category="", title="", unit_id=""))
    html = response.content.decode()
    assert response.status_code == 422
    assert "请选择事项分类。" in html and "请填写标题。" in html and "请选择所属社区，或在地图上点击事发位置。" in html
    # A service error lands next to its field too.
    response = client.post(
        "/intake/", form_data(unit_id=str(people.tree.community_a.pk), reporter_id_number="110101199001011235")
    )
    html = response.content.decode()
    assert response.status_code == 422
    field = re.search(r'<div class="field field-reporter_id_number">(.*?)</div>', html, re.S).group(1)
    assert "身份证号码格式或校验位不正确" in field
    assert not Case.objects.exists()


def test_it_narrows_the_categories_as_the_clerk_types(people):
    html = client_for(people.community).get("/intake/categories/", {"category_q": "噪音"}).content.decode()
    assert 'id="id_category"' in html and "<html" not in html
    assert 'value="G10-01" selected' in html and "G15-01" not in html


def test_it_finds_the_community_an_address_names(people):
    html = client_for(people.community).get("/intake/place/", {"address": "深井社区安居路8号"}).content.decode()
    assert f'value="{people.tree.community_a.pk}" selected' in html


def test_it_suggests_open_cases_that_may_be_the_same(people):
    existing = intake(people.grid_worker, category="G10-01", title="工地夜间施工").case
    html = (
        client_for(people.community)
        .get("/intake/similar/", {"category": "G10-01", "lon": "113.405", "lat": "23.105"})
        .content.decode()
    )
    assert existing.tracking_code in html and "可能重复" in html
    # Within 100 m and 72 h, same category: the form says the report will be joined to it.
    assert f'data-merge-into="{existing.pk}"' in html and "将合并" in html
    nothing = client_for(people.community).get("/intake/similar/", {"category": "G12-01"}).content.decode()
    assert existing.tracking_code not in nothing
    for unit_id in ("987654", "99999999999999999999"):  # no such unit: nothing to suggest
        gone = client_for(people.community).get("/intake/similar/", {"category": "G10-01", "unit_id": unit_id})
        assert gone.status_code == 200 and existing.tracking_code not in gone.content.decode()


def test_it_warns_of_a_merge_only_where_intake_would_merge(people):
    existing = intake(people.grid_worker, category="G10-01", title="工地夜间施工").case
    client = client_for(people.community)
    # The same grid but ~800 m away: a possible duplicate to check, not one intake would join.
    far = client.get("/intake/similar/", {"category": "G10-01", "lon": "113.4095", "lat": "23.1099"}).content.decode()
    assert existing.tracking_code in far and "data-merge-into" not in far
    # The exact rule, as intake applies it.
    near = svc.duplicate_target(category_code="G10-01", lon=113.4051, lat=23.1051)
    assert near == existing.pk
    assert svc.duplicate_target(category_code="G10-01", lon=113.4095, lat=23.1099) is None
    assert svc.duplicate_target(category_code="G12-01", lon=113.4051, lat=23.1051) is None


def test_it_serves_the_map_regions_to_drill_into(people):
    body = json.loads(client_for(people.community).get("/work/map/area.json").content)
    names = {f["properties"]["name"] for f in body["features"]}
    # The test streets carry no outline, so the district's map shows its grids.
    assert {"深井社区第01网格", "刘村第01网格"} <= names
    assert all(f["properties"]["level"] == "grid" for f in body["features"])


def test_it_refuses_intake_to_the_read_only_leader_and_other_methods(people):
    assert client_for(people.leader).get("/intake/").status_code == 403
    assert client_for(people.leader).post("/intake/", form_data()).status_code == 403
    assert client_for(people.community).put("/intake/").status_code == 405
    assert client_for(people.community).post("/intake/categories/").status_code == 405
    assert Client().get("/intake/").status_code == 302


def test_it_gives_the_grid_worker_the_phone_page(people):
    client = client_for(people.grid_worker)
    response = client.get("/m/")
    html = response.content.decode()
    assert response.status_code == 200 and "网格巡查" in html
    assert 'capture="environment"' in html and 'id="checkin-btn"' in html
    data = json.loads(re.search(r'id="mobile-data" type="application/json">(.*?)</script>', html, re.S).group(1))
    assert data["grid"] == {"id": people.tree.grid_a1.pk, "name": "深井社区第01网格"}
    assert data["urls"]["cases"] == "/api/v1/cases"
    assert client.post("/m/").status_code == 405
    worker = client.get("/m/sw.js")
    assert worker.status_code == 200 and worker["Content-Type"].startswith("text/javascript")
    assert "/static/puan/outbox.js" in worker.content.decode() and 'var PAGE = "/m/"' in worker.content.decode()
    assert client_for(people.community).get("/m/").status_code == 403
    assert Client().get("/m/").status_code == 302


def test_it_binds_the_photos_of_a_phone_report(people, api):
    """What the phone page's queue sends: the photo first, then the report naming it."""
    api.login_as(people.grid_worker)
    upload = api.client.post(
        "/api/v1/attachments",
        {"file": SimpleUploadedFile("现场.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64)},
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert upload.status_code == 201
    body = {
        "kind": "hazard",
        "channel": "patrol",
        "category": "G10-01",
        "title": "工地夜间施工",
        "description": "连续三晚施工至凌晨。",
        "lon": 113.405,
        "lat": 23.105,
        "evidence_ids": [upload.json()["id"]],
    }
    created = api.post("/api/v1/cases", body, headers={"Idempotency-Key": "phone-report-1"})
    assert created.status_code == 201
    assert [a["id"] for a in created.json()["case"]["attachments"]] == [upload.json()["id"]]


def test_it_says_what_is_wrong_when_a_hidden_field_is(people):
    client = client_for(people.community)
    refused = client.post("/intake/", form_data(lon="nan", lat="23.1"))
    html = refused.content.decode()
    assert refused.status_code == 422 and "地图上选择的位置无效，请重新点选。" in html
    assert 'value="夜间施工噪音扰民"' in html  # what was typed stays
    assert not Case.objects.exists()
    # A move whose page carried a broken version.
    case = intake(people.grid_worker).case
    moved = client.post(f"/work/cases/{case.pk}/moves/comment/", {"version": "abc", "note": "已电话回访"})
    assert moved.status_code == 422 and "页面上的数据已失效" in moved.content.decode()
