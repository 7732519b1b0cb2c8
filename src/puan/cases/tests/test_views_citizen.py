"""The citizen's page: appeal, follow by tracking code, rate; rate-limited, no personal data."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from puan.cases import services as svc
from puan.cases.models import Case, CaseEvent, CaseState, Channel
from puan.cases.tests.helpers import IN_GRID_A1, People, intake

pytestmark = pytest.mark.django_db

PHONE = "13712345678"


@pytest.fixture
def people(world):
    return People(world)


def appeal(**overrides) -> dict:
    return {
        "category": "G10-01",
        "title": "广场舞音响太吵",
        "description": "每晚八点到十点，小区广场音响声音很大。",
        "address": "深井社区文化广场",
        "reporter_name": "王先生",
        "reporter_phone": PHONE,
        **overrides,
    }


def verified_case(people, **extra) -> Case:
    case = intake(people.grid_worker, category="G10-01", reporter_phone=PHONE, **extra).case
    for move in (svc.case_accept, svc.case_triage, svc.case_assign, svc.case_start):
        case = move(case=case, actor=people.community, version=case.version)
    case = svc.case_resolve(case=case, actor=people.community, version=case.version, outcome="已协调降低音量")
    case = svc.case_comment(case=case, actor=people.community, version=case.version, note="内部备注：当事人情绪激动")
    return svc.case_verify(case=case, actor=people.street, version=case.version)


def test_it_takes_an_appeal_without_an_account_and_gives_the_receipt(people):
    client = Client()
    assert client.get("/public/").status_code == 200
    page = client.get("/public/appeal/").content.decode()
    assert "我要反映" in page and "G01-01" not in page  # internal categories are not offered
    response = client.post("/public/appeal/", appeal(unit_id=str(people.tree.community_a.pk)))
    assert response.status_code == 302 and response.url == "/public/appeal/done/"
    case = Case.objects.get()
    assert (case.channel, case.reporter_id, case.kind) == (Channel.ONLINE, None, "appeal")
    done = client.get(response.url).content.decode()
    assert case.tracking_code in done
    pdf = client.get(f"/public/receipt/{case.tracking_code}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # Another browser holding only the code gets no receipt (it names place and unit).
    assert Client().get(f"/public/receipt/{case.tracking_code}.pdf").status_code == 404


def test_it_files_an_appeal_sent_twice_once(people):
    client = Client()
    key = re.search(r'name="submission" value="([^"]+)"', client.get("/public/appeal/").content.decode())[1]
    sent = appeal(unit_id=str(people.tree.community_a.pk), submission=key)
    first, again = client.post("/public/appeal/", sent), client.post("/public/appeal/", sent)
    assert first.status_code == again.status_code == 302
    assert Case.objects.count() == 1


def test_it_shows_appeal_errors_in_chinese(people):
    response = Client().post("/public/appeal/", appeal(reporter_phone="12345", category="G01-01", title=""))
    html = response.content.decode()
    assert response.status_code == 422
    assert "手机号码格式不正确。" in html and "请用一句话概括您反映的事项。" in html
    assert "选择一个有效的选项" in html  # Django's own message, in Chinese
    assert not Case.objects.exists()


def test_it_shows_progress_by_tracking_code_without_personal_data_or_notes(people):
    case = verified_case(people, reporter_name="王建国")
    response = Client().post("/public/track/", {"code": case.tracking_code.lower()})
    html = response.content.decode()
    assert response.status_code == 200
    assert "已核查" in html and "已办结" in html and "已协调降低音量" in html
    assert PHONE not in html and "137****5678" not in html and "王建国" not in html
    assert "内部备注" not in html and case.title not in html and case.description not in html
    assert "评价办理结果" in html  # verified: the rating form is offered
    missing = Client().post("/public/track/", {"code": "HP000000XXXXXX"})
    assert missing.status_code == 404 and "查询码不存在" in missing.content.decode()


def test_it_scrubs_the_people_an_outcome_names_from_the_citizen_page(people):
    case = intake(people.grid_worker, category="G10-01", reporter_name="王建国", reporter_phone=PHONE).case
    for move in (svc.case_accept, svc.case_triage, svc.case_assign, svc.case_start):
        case = move(case=case, actor=people.community, version=case.version)
    outcome = "已约谈王建国的邻居，对方承诺降低音量，联系电话13912345678。"
    svc.case_resolve(case=case, actor=people.community, version=case.version, outcome=outcome)
    html = Client().post("/public/track/", {"code": case.tracking_code}).content.decode()
    assert "对方承诺降低音量" in html and "王建国" not in html and "13912345678" not in html


def test_it_lets_the_citizen_rate_with_the_phone_they_gave(people):
    case = verified_case(people)
    client = Client()
    wrong = client.post(
        "/public/rate/",
        {"code": case.tracking_code, "version": case.version, "phone": "13900000000", "satisfaction": 5},
    )
    assert wrong.status_code == 403 and "手机号码与反映时留下的号码不一致" in wrong.content.decode()
    right = client.post(
        "/public/rate/", {"code": case.tracking_code, "version": case.version, "phone": PHONE, "satisfaction": 5}
    )
    assert right.status_code == 200 and "感谢您的评价" in right.content.decode()
    case.refresh_from_db()
    assert (case.state, case.satisfaction) == (CaseState.RATED, 5)
    event = CaseEvent.objects.get(case=case, kind="rate")
    assert event.actor is None and event.data["by"] == "citizen"
    # Staff reading the case see whose verdict it is, not "the system".
    staff = Client()
    staff.force_login(people.street)
    page = staff.get(f"/work/cases/{case.pk}/").content.decode()
    assert re.search(r"满意度 5/5 · 反映人自评</span>\s*<span class=\"muted\">群众（查询码验证）", page), page[-3000:]
    again = client.post(
        "/public/rate/", {"code": case.tracking_code, "version": case.version, "phone": PHONE, "satisfaction": 1}
    )
    assert again.status_code == 409


def test_it_tells_a_citizen_whose_appeal_joined_an_open_case_and_lets_them_rate_it(people):
    lon, lat = IN_GRID_A1
    case = verified_case(people, title="张家门口广场舞扰民", reporter_name="张建华")
    Case.objects.filter(pk=case.pk).update(state=CaseState.ASSIGNED)  # still open: a new report joins it
    client = Client()
    response = client.post("/public/appeal/", appeal(lon=str(lon + 0.0004), lat=str(lat), reporter_phone="13655556666"))
    assert response.status_code == 302
    done = client.get(response.url).content.decode()
    assert "已并入同一工单" in done and case.tracking_code in done
    assert "广场舞音响太吵" in done and "张家门口" not in done  # their own report, not the case's title
    assert client.get(f"/public/receipt/{case.tracking_code}.pdf").content.startswith(b"%PDF")
    # Once the case is dealt with, the phone they gave lets them rate it too.
    Case.objects.filter(pk=case.pk).update(state=CaseState.VERIFIED)
    case.refresh_from_db()
    rated = client.post(
        "/public/rate/",
        {"code": case.tracking_code, "version": case.version, "phone": "13655556666", "satisfaction": 4},
    )
    assert rated.status_code == 200, rated.content.decode()[:500]
    case.refresh_from_db()
    assert (case.state, case.satisfaction) == (CaseState.RATED, 4)


def test_it_reopens_the_case_when_the_citizen_is_unsatisfied(people):
    case = verified_case(people)
    Client().post(
        "/public/rate/",
        {"code": case.tracking_code, "version": case.version, "phone": PHONE, "satisfaction": 1, "note": "还是很吵"},
    )
    case.refresh_from_db()
    assert case.state == CaseState.REOPENED and case.satisfaction == 1


def test_it_limits_public_posts_per_address_with_429(people, settings):
    settings.PUAN_CITIZEN_RATE_PER_MINUTE = 2
    client = Client()
    for _ in range(2):
        assert client.post("/public/track/", {"code": "HP000000XXXXXX"}).status_code == 404
    limited = client.post("/public/track/", {"code": "HP000000XXXXXX"})
    assert limited.status_code == 429 and "操作过于频繁" in limited.content.decode()
    assert int(limited["Retry-After"]) >= 1
    # Another address has its own allowance.
    assert Client(REMOTE_ADDR="10.0.0.9").post("/public/track/", {"code": "HP000000XXXXXX"}).status_code == 404


def test_it_requires_the_csrf_token_and_the_right_methods(people):
    strict = Client(enforce_csrf_checks=True)
    refused = strict.post("/public/appeal/", appeal(unit_id=str(people.tree.community_a.pk)))
    assert refused.status_code == 403 and "安全校验失败" in refused.content.decode()
    assert not Case.objects.exists()
    client = Client()
    assert client.put("/public/appeal/").status_code == 405
    assert client.get("/public/rate/").status_code == 405
    assert client.delete("/public/track/").status_code == 405
