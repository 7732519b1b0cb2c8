"""One case through every hand, in the browser: the grid worker reports from the phone
(with the network cut: the report and a patrol check-in wait in the browser and go out
when it returns), the community accepts and escalates, the street adds the justice bureau
as assisting department and works the case, the bureau closes its task, the street
resolves, the centre verifies, and the citizen rates it on the public page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from puan.cases.models import Attachment, Case, CaseState
from puan.cases.tests.helpers import IN_GRID_A1, People
from puan.gridops.models import PatrolCheckIn
from tests.browser.pages import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CITIZEN_PHONE = "13712345678"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
    b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82"
)


def make_move(page, action: str, *, fill: dict | None = None, select: dict | None = None, expect_text: str):
    """Open a move's form on the case page, fill it, submit it, wait for the fresh panel."""
    details = page.locator(f"#move-{action}")
    details.locator("summary").click()
    for name, value in (fill or {}).items():
        details.locator(f"[name={name}]").fill(value)
    for name, value in (select or {}).items():
        details.locator(f"select[name={name}]").select_option(value)
    details.locator("button[type=submit]").click()
    expect(page.locator("#case-panel .notice")).to_contain_text(expect_text)


def test_a_case_goes_round_the_closed_loop(open_page, world):
    people = People(world)

    # --- the grid worker, on a phone, loses the network while reporting -----------------
    context, phone = open_page(people.grid_worker, phone=True, geolocation=IN_GRID_A1)
    phone.goto("/m/")
    expect(phone.locator("#gps-where")).to_have_text("深井社区 · 深井社区第01网格")
    shot(phone, "01-grid-worker-phone")

    # The service worker keeps the page: it opens again with no network at all.
    assert phone.evaluate("navigator.serviceWorker.ready.then(() => true)")
    context.set_offline(True)
    phone.reload()
    expect(phone.locator("h1")).to_have_text("网格巡查")
    expect(phone.locator("#net")).to_have_text("离线")
    expect(phone.locator("#gps-where")).to_have_text("已定位，网格待联网后确认。")
    phone.select_option("#m-category", "G10-01")
    phone.select_option("#m-kind", "hazard")
    phone.fill("#m-title", "工地夜间施工噪音扰民")
    phone.fill("#m-description", "安居路工地连续三晚施工至凌晨，居民反映强烈。")
    phone.fill("#m-reporter-phone", CITIZEN_PHONE)
    phone.set_input_files("#m-photos", files=[{"name": "现场.png", "mimeType": "image/png", "buffer": PNG}])
    phone.click("#report-form button[type=submit]")
    phone.click("#checkin-btn")
    expect(phone.locator("#outbox-list li[data-state=pending]")).to_have_count(2)
    expect(phone.locator("#outbox-state")).to_contain_text("2 条待发送")
    shot(phone, "02-grid-worker-offline-queue")
    assert not Case.objects.exists() and not PatrolCheckIn.objects.exists()

    context.set_offline(False)  # the "online" event sends the queue
    expect(phone.locator("#outbox-list li[data-state=sent]")).to_have_count(2, timeout=20_000)
    expect(phone.locator("#outbox-list")).to_contain_text("已发送：HP")
    shot(phone, "03-grid-worker-queue-sent")
    case = Case.objects.get()
    assert case.channel == "patrol" and case.reporter_id == people.grid_worker.pk
    assert Attachment.objects.filter(case=case, size=len(PNG)).count() == 1  # the photo went up first
    assert PatrolCheckIn.objects.get().in_own_grid

    # --- the community accepts, then escalates (with the reason the form insists on) -----
    _, desk = open_page(people.community)
    desk.goto("/work/")
    expect(desk.locator("table.queue")).to_contain_text("工地夜间施工噪音扰民")
    shot(desk, "04-community-queue")
    desk.click(f"text={case.tracking_code}")
    expect(desk.locator("#case-title")).to_have_text("工地夜间施工噪音扰民")
    expect(desk.locator(".photos img")).to_have_count(1)
    make_move(desk, "accept", expect_text="已完成“受理”")
    expect(desk.locator("#case-state")).to_have_text("已受理")
    shot(desk, "05-community-case-accepted")
    desk.locator("#move-escalate summary").click()
    desk.locator("#move-escalate button[type=submit]").click()
    expect(desk.locator("#move-escalate .errorlist")).to_contain_text("请填写理由或说明。")
    expect(desk.locator("#id_escalate_note")).to_be_focused()
    shot(desk, "06-community-escalate-form-error")
    desk.fill("#id_escalate_note", "涉及施工许可和夜间施工审批，需街道协调执法部门。")
    desk.locator("#move-escalate button[type=submit]").click()
    expect(desk.locator("#case-state")).to_have_text("已上报")

    # --- the street brings in the justice bureau and works the case ----------------------
    _, street = open_page(people.street)
    street.goto("/work/")
    expect(street.locator("table.queue tbody tr").first).to_contain_text("工地夜间施工噪音扰民")
    street.goto(f"/work/cases/{case.pk}/")
    make_move(
        street,
        "add_assist",
        select={"department": str(world.justice.pk)},
        fill={"task": "组织施工方与居民调解，明确施工时段"},
        expect_text="已完成“增加协办部门”",
    )
    make_move(street, "assign", expect_text="已完成“交办”")
    make_move(street, "start", expect_text="已完成“开始处置”")
    expect(street.locator("#h-assists + ul")).to_contain_text("区司法局")
    shot(street, "07-street-case-with-assisting-department")

    # --- the justice bureau closes its task ------------------------------------------------
    _, justice = open_page(people.justice)
    justice.goto("/work/")
    expect(justice.locator("table.queue")).to_contain_text(case.tracking_code)
    justice.goto(f"/work/cases/{case.pk}/")
    make_move(justice, "close_assist", fill={"note": "已组织调解，施工方承诺22点后停工"}, expect_text="完成协办任务")
    expect(justice.locator("#h-assists + ul")).to_contain_text("已完成")
    shot(justice, "08-department-task-closed")

    # --- the street resolves, the centre verifies ---------------------------------------------
    street.goto(f"/work/cases/{case.pk}/")
    make_move(
        street, "resolve", fill={"outcome": "施工方调整作业时间，夜间停工，居民认可。"}, expect_text="已完成“办结”"
    )
    _, centre = open_page(people.dispatcher)
    centre.goto(f"/work/cases/{case.pk}/")
    make_move(centre, "verify", fill={"note": "电话回访属实"}, expect_text="已完成“核查”")
    expect(centre.locator("#case-state")).to_have_text("已核查")
    shot(centre, "09-centre-verified")

    # --- the citizen follows the case and rates it -----------------------------------------
    _, citizen = open_page(phone=True)
    citizen.goto("/public/")
    shot(citizen, "10-citizen-home")
    citizen.fill("#id_code", case.tracking_code)
    citizen.get_by_role("button", name="查询", exact=True).click()
    expect(citizen.locator("#public-state")).to_have_text("已核查")
    expect(citizen.locator("#track-result")).not_to_contain_text("组织施工方")  # internal task text
    citizen.fill("#id_phone", CITIZEN_PHONE)
    citizen.check("input[name=satisfaction][value='5']")
    citizen.get_by_role("button", name="提交评价").click()
    expect(citizen.locator(".notice")).to_have_text("感谢您的评价！")
    expect(citizen.locator("#public-state")).to_have_text("已评价")
    shot(citizen, "11-citizen-rated")

    case.refresh_from_db()
    assert (case.state, case.satisfaction) == (CaseState.RATED, 5)
    kinds = list(case.events.order_by("seq").values_list("kind", flat=True))
    assert kinds == [
        "register",
        "accept",
        "escalate",
        "add_assist",
        "assign",
        "start",
        "close_assist",
        "resolve",
        "verify",
        "rate",
    ]
    assert re.fullmatch(r"HP\d{6}[A-Z0-9]{6}", case.tracking_code)
