"""Window intake in the browser: category search, a click on the grid map, duplicate
suggestions while typing, the receipt; the citizen's own appeal; the admin screens."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from puan.accounts.roles import Role
from puan.accounts.tests.factories import make_user
from puan.cases.models import Case, Channel
from puan.cases.tests.helpers import IN_GRID_A2, People, intake
from tests.browser.pages import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_clerk_takes_a_walk_in_case_and_prints_the_receipt(open_page, world):
    people = People(world)
    earlier = intake(people.grid_worker, category="G10-01", title="工地夜间施工", lon_lat=IN_GRID_A2).case
    _, page = open_page(people.dispatcher)
    page.goto("/intake/")

    page.fill("#id_category_q", "噪音")
    expect(page.locator("#id_category option:checked")).to_have_text("噪音扰民（G10-01）")
    expect(page.locator("#id_category option[value='G15-01']")).to_have_count(0)
    page.select_option("#id_channel", "hotline")
    page.fill("#id_title", "安居路工地夜间施工噪音")
    page.fill("#id_description", "来电反映工地每晚施工到凌晨一点，影响休息。")
    page.fill("#id_reporter_phone", "13900001111")

    # A click inside grid A2 on the map places the case and resolves its grid.
    chart = page.locator("[data-map=picker]")
    expect(chart.locator("canvas")).to_have_count(1)
    page.wait_for_function("document.querySelector('[data-map=picker]').puanChart.getOption().geo[0].map")
    x, y = page.evaluate(
        "([lon, lat]) => document.querySelector('[data-map=picker]').puanChart"
        ".convertToPixel({geoIndex: 0}, [lon, lat])",
        list(IN_GRID_A2),
    )
    box = chart.bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    expect(page.locator("#map-status")).to_contain_text("深井社区第02网格")
    expect(page.locator("#id_unit_id")).to_have_value(str(world.community_a.pk))

    # The open case of the same category in the same grid is suggested.
    expect(page.locator("#similar")).to_contain_text(earlier.tracking_code)
    shot(page, "30-window-intake")

    page.get_by_role("button", name="登记并生成受理回执").click()
    expect(page.locator("h1")).to_have_text("已合并为重复反映")  # within 100 m of the earlier case
    expect(page.locator("#tracking-code")).to_have_text(earlier.tracking_code)
    shot(page, "31-intake-done")
    receipt = page.request.get(page.get_by_role("link", name="打印受理回执（PDF）").get_attribute("href"))
    assert receipt.status == 200 and receipt.headers["content-type"] == "application/pdf"
    assert receipt.body().startswith(b"%PDF")
    earlier.refresh_from_db()
    assert earlier.report_count == 2


def test_a_citizen_appeals_from_a_phone(open_page, world):
    _, page = open_page(phone=True)
    page.goto("/public/appeal/")
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator(".field-reporter_phone .errorlist")).to_contain_text("请填写手机号码")
    shot(page, "32-citizen-appeal-errors")
    page.select_option("#id_category", "G11-04")
    page.fill("#id_title", "共享单车堵住盲道")
    page.fill("#id_description", "地铁口共享单车乱停放，盲道被完全堵住。")
    page.select_option("#id_unit_id", str(world.community_a.pk))
    page.fill("#id_reporter_phone", "13600002222")
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator("h1")).to_have_text("提交成功")
    case = Case.objects.get()
    assert case.channel == Channel.ONLINE and case.reporter_id is None
    expect(page.locator("#tracking-code")).to_have_text(case.tracking_code)
    shot(page, "33-citizen-appeal-done")


def test_an_administrator_reaches_the_admin_screens(open_page, tree):
    admin = make_user(Role.ADMIN, unit=tree.district, username="admin")
    _, page = open_page(admin)
    page.goto("/admin/")
    expect(page.locator("#site-name")).to_contain_text("埔安")
    shot(page, "34-admin-index")
    for screen in ("sla/slapolicy", "sla/calendarday", "cases/riskrule", "org/unit"):
        response = page.goto(f"/admin/{screen}/")
        assert response.status == 200, screen
    shot(page, "35-admin-units")
