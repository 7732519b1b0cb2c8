"""The workbench pages: my queue and the case page with its moves."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from puan.cases import services as svc
from puan.cases.models import Attachment, Case, CaseEvent, CaseState, Risk
from puan.cases.tests.helpers import IN_GRID_B1, People, intake

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64


@pytest.fixture
def people(world):
    return People(world)


def walk_in_progress(people, case):
    for move in (svc.case_accept, svc.case_triage, svc.case_assign, svc.case_start):
        case = move(case=case, actor=people.community, version=case.version)
    return case


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_shows_my_queue_escalated_first_with_counts(people):
    intake(people.grid_worker, category="G10-01", title="夜间施工噪音")
    orange = intake(people.grid_worker, category="G15-01", title="多人邻里纠纷", facts={"people_involved": 8}).case
    escalated = intake(people.grid_worker, category="G11-01", title="占道经营反复出现").case
    escalated = svc.case_accept(case=escalated, actor=people.community, version=escalated.version)
    svc.case_escalate(case=escalated, actor=people.community, version=escalated.version, note="需街道协调")

    html = client_for(people.street).get("/work/").content.decode()
    assert "我的工作台" in html
    assert html.index("占道经营反复出现") < html.index("多人邻里纠纷")  # escalated before orange
    assert "夜间施工噪音" not in html  # the community's own work is not the street's queue
    assert re.search(r"已上报\s*<span class=\"n\">1</span>", html)
    assert orange.owner_unit_id == people.tree.street_a.pk
    # A page number past any database's reach is ignored, like any invalid filter.
    assert "占道经营反复出现" in client_for(people.street).get("/work/", {"page": "9" * 20}).content.decode()
    # An invalid value drops its own filter only: the colour filter still applies.
    html = client_for(people.street).get("/work/", {"risk": "orange", "tier": "abc"}).content.decode()
    assert "多人邻里纠纷" in html and "占道经营反复出现" not in html


def test_it_refreshes_only_the_results_when_a_filter_changes(people):
    intake(people.grid_worker, category="G10-01", title="夜间施工噪音")
    intake(people.grid_worker, category="G11-01", title="菜市场占道经营")
    client = client_for(people.community)
    response = client.get("/work/", {"text": "施工"}, headers={**HTMX, "HX-Target": "queue-results"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="queue-results"' in html
    assert "夜间施工噪音" in html and "菜市场占道经营" not in html
    assert re.search(r"全部待办\s*<span class=\"n\">1</span>", html)


def test_it_puts_a_resolution_in_the_queue_of_whoever_checks_and_then_archives_it(people):
    community_case = intake(people.grid_worker, category="G10-01", title="楼道堆物清理").case
    for move in (svc.case_accept, svc.case_triage, svc.case_assign, svc.case_start):
        community_case = move(case=community_case, actor=people.community, version=community_case.version)
    community_case = svc.case_resolve(
        case=community_case, actor=people.community, version=community_case.version, outcome="已清理"
    )
    red = intake(people.grid_worker, category="G10-01", title="燃气泄漏", facts={"danger_to_life": True}).case
    for move in (svc.case_accept, svc.case_triage, svc.case_assign, svc.case_start):
        red = move(case=red, actor=people.dispatcher, version=red.version)
    svc.case_resolve(case=red, actor=people.dispatcher, version=red.version, outcome="已关阀抢修")

    def queue(user, **params) -> str:
        return client_for(user).get("/work/", params).content.decode()

    # The street checks its community's resolution; the centre checks its own.
    street = queue(people.street)
    assert "楼道堆物清理" in street and re.search(r"已办结\s*<span class=\"n\">1</span>", street)
    assert "楼道堆物清理" in queue(people.street, state="resolved")
    assert 'id="move-verify"' in client_for(people.street).get(f"/work/cases/{community_case.pk}/").content.decode()
    centre = queue(people.dispatcher)
    assert "燃气泄漏" in centre and "楼道堆物清理" not in centre
    assert "楼道堆物清理" not in queue(people.community)  # not the owner's to check
    # Checked, it is the owner's to archive.
    svc.case_verify(case=community_case, actor=people.street, version=community_case.version)
    assert "楼道堆物清理" not in queue(people.street)
    community = queue(people.community)
    assert "楼道堆物清理" in community and re.search(r"已核查\s*<span class=\"n\">1</span>", community)


def test_it_refreshes_the_queue_on_the_page_being_read(people, monkeypatch):
    from puan.cases import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for i in range(4):
        intake(people.grid_worker, category="G10-01", title=f"噪音{i}", lon_lat=(113.4012 + 0.002 * i, 23.1012))
    client = client_for(people.community)
    html = client.get("/work/", {"page": "2"}).content.decode()
    refresh = re.search(r'<div id="queue-results" hx-get="([^"]+)"', html)[1]
    assert refresh == "/work/?page=2"
    again = client.get(refresh, headers={**HTMX, "HX-Target": "queue-results"}).content.decode()
    assert re.search(r"第 2 / 2 页", again)
    # The second page emptied meanwhile: the refresh shows the last page there is.
    for case in Case.objects.filter(title__in=["噪音2", "噪音3"]):
        svc.case_reject(case=case, actor=people.community, version=case.version, note="重复登记")
    again = client.get(refresh, headers={**HTMX, "HX-Target": "queue-results"}).content.decode()
    assert "噪音0" in again and "第 1 / 1 页" not in again.replace("\n", "")


def test_it_offers_an_extension_only_where_the_deadline_policy_allows_one(people):
    owners = {1: people.community, 2: people.street, 3: people.dispatcher}
    pages = {}
    for name, kwargs in (("simple", {}), ("petition", {"category": "G16-02", "kind": "petition"})):
        case = intake(people.grid_worker, **kwargs).case
        for move in (svc.case_accept, svc.case_triage, svc.case_assign, svc.case_start):
            case = move(case=case, actor=owners[case.tier], version=case.version)
        pages[name] = client_for(owners[case.tier]).get(f"/work/cases/{case.pk}/").content.decode()
    assert 'id="move-request_suspension"' in pages["simple"]
    assert 'id="move-request_extension"' not in pages["simple"]  # 简事快办: no extension
    assert 'id="move-request_extension"' in pages["petition"]  # 60 days, extendable by 30


def test_it_shows_the_case_with_only_the_moves_i_may_make(people):
    case = intake(people.grid_worker, category="G10-01", reporter_phone="13800138000").case
    html = client_for(people.community).get(f"/work/cases/{case.pk}/").content.decode()
    assert case.tracking_code in html and "网格位置" in html and "办理记录" in html
    assert 'id="move-accept"' in html and 'id="move-reject"' in html
    assert 'id="move-verify"' not in html and 'id="move-resolve"' not in html
    assert "138****8000" in html and "13800138000" not in html  # masked
    assert 'id="case-map-data"' in html and '"boundary"' in html
    assert f'name="version" value="{case.version}"' in html
    assert not re.search(r"<script(?![^>]*\b(src|type=\"application/json\")=?)", html)  # no inline script

    leader = client_for(people.leader).get(f"/work/cases/{case.pk}/").content.decode()
    assert "当前角色为只读" in leader and "<details" not in leader


def test_it_hides_a_case_of_another_unit_as_404(people):
    case = intake(people.grid_worker).case
    other = client_for(people.other_community)
    assert other.get(f"/work/cases/{case.pk}/").status_code == 404
    assert other.post(f"/work/cases/{case.pk}/moves/accept/", {"version": case.version}).status_code == 404
    assert other.get(f"/work/cases/{case.pk}/receipt.pdf").status_code == 404
    case.refresh_from_db()
    assert case.state == CaseState.REGISTERED


def test_it_refuses_a_move_to_the_read_only_leader_with_403(people):
    case = intake(people.grid_worker).case
    response = client_for(people.leader).post(
        f"/work/cases/{case.pk}/moves/accept/", {"version": case.version}, headers=HTMX
    )
    assert response.status_code == 403
    assert "只读" in response.content.decode()
    case.refresh_from_db()
    assert case.state == CaseState.REGISTERED


def test_it_answers_other_methods_with_405(people):
    case = intake(people.grid_worker).case
    client = client_for(people.community)
    assert client.put("/work/").status_code == 405
    assert client.post("/work/").status_code == 405
    assert client.delete(f"/work/cases/{case.pk}/").status_code == 405
    assert client.get(f"/work/cases/{case.pk}/moves/accept/").status_code == 405
    assert client.post(f"/work/cases/{case.pk}/receipt.pdf").status_code == 405


def test_it_sends_anonymous_visitors_to_the_login_page(people):
    response = Client().get("/work/")
    assert response.status_code == 302 and response.url.startswith("/login/?next=/work/")


def test_it_makes_a_move_and_swaps_in_the_fresh_case_panel(people):
    case = intake(people.grid_worker).case
    response = client_for(people.community).post(
        f"/work/cases/{case.pk}/moves/accept/", {"version": case.version, "note": "已电话联系双方"}, headers=HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="case-panel"' in html
    assert "已完成“受理”" in html and "已电话联系双方" in html
    assert f'name="version" value="{case.version + 1}"' in html
    assert 'id="move-triage"' in html and 'id="move-accept"' not in html
    case.refresh_from_db()
    assert case.state == CaseState.ACCEPTED


def test_it_shows_form_errors_in_chinese_next_to_the_field(people):
    case = intake(people.grid_worker).case
    case = svc.case_accept(case=case, actor=people.community, version=case.version)
    response = client_for(people.community).post(
        f"/work/cases/{case.pk}/moves/escalate/", {"version": case.version, "note": " "}, headers=HTMX
    )
    html = response.content.decode()
    assert response.status_code == 422
    form = re.search(r'<details id="move-escalate" open>(.*?)</details>', html, re.S).group(1)  # stays open
    field = re.search(r'<div class="field field-note">(.*?)</div>', form, re.S).group(1)
    assert "请填写理由或说明。" in field and 'aria-invalid="true"' in field
    case.refresh_from_db()
    assert case.state == CaseState.ACCEPTED


def test_it_says_someone_changed_the_case_and_shows_the_fresh_state(people):
    case = intake(people.grid_worker).case
    seen = case.version
    svc.case_accept(case=case, actor=people.community, version=case.version)  # someone else, first
    response = client_for(people.community).post(
        f"/work/cases/{case.pk}/moves/reject/", {"version": seen, "note": "不属于受理范围"}, headers=HTMX
    )
    html = response.content.decode()
    assert response.status_code == 409
    assert "该案件已被他人修改" in html
    assert re.search(r'id="case-state">已受理<', html)
    assert f'name="version" value="{seen + 1}"' in html
    case.refresh_from_db()
    assert case.state == CaseState.ACCEPTED

    # A note typed for a move still possible is kept, at the fresh version: sent again, it
    # is a decision on the case as it now is.
    seen = case.version
    svc.case_comment(case=case, actor=people.grid_worker, version=case.version, note="网格员补充情况")
    response = client_for(people.community).post(
        f"/work/cases/{case.pk}/moves/comment/", {"version": seen, "note": "已电话联系当事人"}, headers=HTMX
    )
    html = response.content.decode()
    assert response.status_code == 409 and "该案件已被他人修改" in html
    form = re.search(r'<details id="move-comment" open>(.*?)</details>', html, re.S).group(1)
    assert "已电话联系当事人" in form and f'name="version" value="{seen + 1}"' in form


def test_it_refills_a_stale_facts_form_from_the_case_as_it_now_is(people):
    case = walk_in_progress(people, intake(people.grid_worker).case)
    seen = case.version
    case = svc.case_update_facts(case=case, actor=people.grid_worker, version=seen, facts={"property_loss": 5000})
    assert case.risk == Risk.YELLOW and case.tier == 1
    response = client_for(people.community).post(
        f"/work/cases/{case.pk}/moves/update_facts/",
        {"version": seen, "people_involved": "2", "note": "补充涉及人数"},
        headers=HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 409
    form = re.search(r'<details id="move-update_facts" open>(.*?)</details>', html, re.S).group(1)
    # The other person's fact is shown as it now stands; only the typed note is kept.
    assert re.search(r'<input type="number" name="property_loss" value="5000"', form)
    assert "补充涉及人数" in form and f'name="version" value="{case.version}"' in form


def test_it_offers_no_return_below_the_tier_a_colour_needs(people, api):
    red = intake(people.grid_worker, facts={"danger_to_life": True}).case
    for move in (svc.case_accept, svc.case_triage, svc.case_assign, svc.case_start):
        red = move(case=red, actor=people.dispatcher, version=red.version)
    html = client_for(people.dispatcher).get(f"/work/cases/{red.pk}/").content.decode()
    assert 'id="move-escalate"' not in html and 'id="move-return"' not in html
    assert "return" not in api.login_as(people.dispatcher).get(f"/api/v1/cases/{red.pk}").json()["allowed_actions"]
    yellow = intake(people.grid_worker, lon_lat=(113.4065, 23.1065)).case
    yellow = svc.case_accept(case=yellow, actor=people.community, version=yellow.version)
    yellow = svc.case_escalate(case=yellow, actor=people.community, version=yellow.version, note="需街道协调")
    assert 'id="move-return"' in client_for(people.street).get(f"/work/cases/{yellow.pk}/").content.decode()


def test_it_resolves_with_photos_uploaded_in_the_form(people):
    case = intake(people.grid_worker).case
    for move in (svc.case_accept, svc.case_triage, svc.case_assign, svc.case_start):
        case = move(case=case, actor=people.community, version=case.version)
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for(people.community)
    response = client.post(
        f"/work/cases/{case.pk}/moves/resolve/",
        {"version": case.version, "outcome": "双方达成和解", "evidence": [SimpleUploadedFile("现场.png", PNG)]},
    )
    assert response.status_code == 302 and response.url == f"/work/cases/{case.pk}/"
    case.refresh_from_db()
    assert case.state == CaseState.RESOLVED and case.outcome == "双方达成和解"
    assert Attachment.objects.filter(case=case, uploaded_by=people.community).count() == 1
    page = client.get(response.url).content.decode()
    assert "已完成“办结”" in page and '<img src="/api/v1/attachments/' in page


def test_it_keeps_no_photo_of_a_resolution_that_was_refused(people, settings):
    from pathlib import Path

    from django.core.files.uploadedfile import SimpleUploadedFile

    case = intake(people.grid_worker, facts={"people_involved": 8}).case  # orange: the street's
    case = svc.case_accept(case=case, actor=people.street, version=case.version)
    case = svc.case_triage(case=case, actor=people.street, version=case.version)
    assists = [(people.tree.police.pk, "到场维持秩序")]
    case = svc.case_assign(case=case, actor=people.street, version=case.version, assists=assists)
    case = svc.case_start(case=case, actor=people.street, version=case.version)
    # Refused inside the move, after the photos were stored: the assisting task is open.
    response = client_for(people.street).post(
        f"/work/cases/{case.pk}/moves/resolve/",
        {"version": case.version, "outcome": "双方达成和解", "evidence": [SimpleUploadedFile("现场.png", PNG)]},
    )
    html = response.content.decode()
    assert response.status_code == 409 and "协办任务尚未完成" in html
    # What was typed stays, in the form left open.
    form = re.search(r'<details id="move-resolve" open>(.*?)</details>', html, re.S).group(1)
    assert "双方达成和解" in form
    assert not Attachment.objects.exists()
    assert not [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def test_it_lets_an_assisting_department_close_its_task(people):
    case = intake(people.grid_worker, category="G10-01").case
    case = svc.case_accept(case=case, actor=people.community, version=case.version)
    case = svc.case_escalate(case=case, actor=people.community, version=case.version, note="需部门联合处置")
    street = client_for(people.street)

    def ask_justice(task: str) -> None:
        case.refresh_from_db()
        response = street.post(
            f"/work/cases/{case.pk}/moves/add_assist/",
            {"version": case.version, "department": people.tree.justice.pk, "task": task},
            headers=HTMX,
        )
        assert response.status_code == 200, response.content.decode()[:500]
        case.refresh_from_db()

    ask_justice("组织人民调解")
    html = client_for(people.justice).get(f"/work/cases/{case.pk}/").content.decode()
    assert 'id="move-close_assist"' in html and 'value="waived"' not in html  # their own task: done only
    task = case.assists.get()
    response = client_for(people.justice).post(
        f"/work/cases/{case.pk}/moves/close_assist/",
        {"version": case.version, "task_id": task.pk, "status": "done", "note": "已调解"},
        headers=HTMX,
    )
    assert response.status_code == 200
    task.refresh_from_db()
    assert task.status == "done"
    assert CaseEvent.objects.filter(case=case, kind="close_assist").exists()
    # Its task done, the department can be asked again, and is offered for it.
    case.refresh_from_db()
    html = street.get(f"/work/cases/{case.pk}/").content.decode()
    form = re.search(r'<details id="move-add_assist"[^>]*>(.*?)</details>', html, re.S).group(1)
    assert f'value="{people.tree.justice.pk}"' in form
    ask_justice("回访调解协议履行情况")
    task.refresh_from_db()
    assert (task.status, task.task) == ("open", "回访调解协议履行情况")


def test_it_prints_the_acceptance_receipt_as_pdf(people):
    case = intake(people.grid_worker).case
    response = client_for(people.community).get(f"/work/cases/{case.pk}/receipt.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF") and b"STSong-Light" in response.content


def test_it_gives_a_refusal_with_variable_parts_in_the_page_language(people, api):
    case = intake(people.grid_worker).case  # registered: nothing to resolve yet
    client = client_for(people.community)
    move = f"/work/cases/{case.pk}/moves/resolve/"
    chinese = client.post(move, {"version": case.version, "outcome": "已处理"}, headers=HTMX).content.decode()
    assert "案件当前状态为“已登记”，不能办结。" in chinese
    client.post("/i18n/setlang/", {"language": "en", "next": "/work/"})
    response = client.post(move, {"version": case.version, "outcome": "已处理"}, headers=HTMX)
    english = response.content.decode()
    assert response.status_code == 409
    assert "The case is “Registered”: it cannot be given “Resolve” now." in english
    assert "案件当前状态" not in english
    # The API answers in Chinese, as before.
    api.login_as(people.community)
    answer = api.post(f"/api/v1/cases/{case.pk}/actions/resolve", {"version": case.version, "outcome": "x"})
    assert answer.status_code == 409 and answer.json()["message"] == "案件当前状态为“已登记”，不能办结。"


def test_it_answers_a_panel_asking_for_a_case_out_of_reach_with_the_notice_alone(people):
    other_street = intake(people.dispatcher, channel="hotline", lon_lat=IN_GRID_B1).case
    client = client_for(people.community)
    for url in (f"/work/cases/{other_street.pk}/", "/work/cases/987654/"):
        page = client.get(url)
        assert page.status_code == 404 and "<html" in page.content.decode()
        panel = client.get(url, headers=HTMX)
        body = panel.content.decode()
        # Swapped into the panel that asked: the notice, not a page nested in the page.
        assert panel.status_code == 404 and "<html" not in body and "<nav" not in body
        assert "不存在" in body


def test_it_tells_a_panel_whose_session_ended_how_to_sign_in_and_keeps_the_page(people):
    case = intake(people.grid_worker).case
    client = Client()  # signed out
    page = client.get(f"/work/cases/{case.pk}/")
    assert page.status_code == 302 and page["Location"].startswith("/login/")
    headers = HTMX | {"HX-Current-URL": f"http://testserver/work/cases/{case.pk}/?tab=timeline"}
    for answer in (
        client.get(f"/work/cases/{case.pk}/", headers=headers),
        client.post(f"/work/cases/{case.pk}/moves/accept/", {"version": case.version}, headers=headers),
        client.get("/intake/similar/", headers=headers),
    ):
        body = answer.content.decode()
        # A notice in the panel, not the sign-in form nested in it, nor a redirect that
        # would take the page (and what was typed on it) away.
        assert answer.status_code == 401 and "<html" not in body and "HX-Redirect" not in answer
        assert f'href="/login/?next=/work/cases/{case.pk}/%3Ftab%3Dtimeline"' in body
    for hostile in ("http://testserver//elsewhere.example/", "http://testserver/\\elsewhere.example/", "http://[/x"):
        body = client.get(f"/work/cases/{case.pk}/", headers=HTMX | {"HX-Current-URL": hostile}).content.decode()
        assert 'href="/login/?next=/"' in body, hostile


def test_it_shows_whose_verdict_a_rating_is_and_offers_the_callback_above_the_handler(people):
    case = walk_in_progress(people, intake(people.grid_worker).case)
    case = svc.case_resolve(case=case, actor=people.community, version=case.version, outcome="已协调")
    case = svc.case_verify(case=case, actor=people.street, version=case.version)
    assert 'id="move-rate"' not in client_for(people.community).get(f"/work/cases/{case.pk}/").content.decode()
    street = client_for(people.street)
    assert 'id="move-rate"' in street.get(f"/work/cases/{case.pk}/").content.decode()
    response = street.post(
        f"/work/cases/{case.pk}/moves/rate/",
        {"version": case.version, "satisfaction": 4, "note": "电话回访，群众表示基本满意"},
        headers=HTMX,
    )
    assert response.status_code == 200, response.content.decode()[:500]
    assert "满意度 4/5 · 回访录入" in street.get(f"/work/cases/{case.pk}/").content.decode()
    street.post("/i18n/setlang/", {"language": "en", "next": "/work/"})
    english = street.get(f"/work/cases/{case.pk}/").content.decode()
    assert "satisfaction 4/5 · recorded at a callback" in english
