"""Refusals in the browser: the lockout at sign-in, a case of another unit, the read-only
leader, and a move made on a stale page ("someone changed this case")."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from puan.accounts.roles import Role
from puan.accounts.tests.factories import PASSWORD, make_user
from puan.cases import services as svc
from puan.cases.models import CaseState
from puan.cases.tests.helpers import People, intake
from tests.browser.pages import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_locks_after_repeated_failures_and_then_works(open_page, tree, settings):
    settings.PUAN_LOCKOUT_THRESHOLD = 2
    make_user(Role.UNIT_HANDLER, unit=tree.community_a, username="handler", display_name="深井社区工作站")
    _, page = open_page()
    page.goto("/work/")
    expect(page).to_have_url("/login/?next=/work/")
    shot(page, "20-login")
    page.fill("#id_username", "handler")
    page.fill("#id_password", "wrong-password")
    page.keyboard.press("Enter")
    expect(page.locator(".errorlist.nonfield")).to_have_text("用户名或密码错误。")
    page.fill("#id_password", "wrong-again")
    page.keyboard.press("Enter")
    expect(page.locator(".errorlist.nonfield")).to_contain_text("账号已锁定")
    shot(page, "21-login-locked")

    from puan.accounts.models import User
    from puan.accounts.services import user_unlock

    user_unlock(user=User.objects.get(username="handler"), actor=None)
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url("/work/")
    expect(page.locator(".who")).to_contain_text("深井社区工作站")
    # Keyboard only: the skip link is the first stop and leads to the content.
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.locator("button", has_text="English").click()
    expect(page.locator("h1")).to_have_text("My workbench")
    shot(page, "22-workbench-in-english")
    page.locator("button", has_text="中文").click()
    expect(page.locator("h1")).to_have_text("我的工作台")
    page.get_by_role("link", name="修改密码").click()
    expect(page.locator("h1")).to_have_text("修改密码")
    shot(page, "26-password-change")
    page.locator("button", has_text="退出").click()
    expect(page).to_have_url("/login/")


def test_other_units_and_read_only_users_are_refused(open_page, world):
    people = People(world)
    case = intake(people.grid_worker, category="G10-01", title="楼道堆放杂物").case

    _, other = open_page(people.other_community)
    response = other.goto(f"/work/cases/{case.pk}/")
    assert response.status == 404
    expect(other.locator("h1")).to_have_text("页面不存在")
    shot(other, "23-other-unit-gets-404")

    _, leader = open_page(people.leader)
    leader.goto(f"/work/cases/{case.pk}/")
    expect(leader.locator("#h-moves + p")).to_have_text("当前角色为只读，只能查看。")
    expect(leader.locator("#case-panel details")).to_have_count(0)
    shot(leader, "24-leader-read-only")
    status = leader.evaluate(
        """async (url) => {
            const r = await fetch(url, {method: "POST", headers: {"X-CSRFToken": window.puan.csrfToken(),
                "HX-Request": "true", "Content-Type": "application/x-www-form-urlencoded"}, body: "version=1"});
            return r.status;
        }""",
        f"/work/cases/{case.pk}/moves/accept/",
    )
    assert status == 403
    case.refresh_from_db()
    assert case.state == CaseState.REGISTERED


def test_a_move_on_a_stale_page_shows_the_fresh_case(open_page, world):
    people = People(world)
    case = intake(people.grid_worker, category="G10-01", title="消防通道被占").case
    _, page = open_page(people.community)
    page.goto(f"/work/cases/{case.pk}/")
    expect(page.locator("#case-state")).to_have_text("已登记")

    # A colleague accepts the case while this page is open.
    colleague = make_user(Role.UNIT_HANDLER, unit=world.community_a, username="colleague")
    svc.case_accept(case=case, actor=colleague, version=case.version)

    page.locator("#move-reject summary").click()
    page.fill("#id_reject_note", "不属于受理范围")
    page.locator("#move-reject button[type=submit]").click()
    expect(page.locator("#case-panel .notice-stale")).to_contain_text("该案件已被他人修改")
    expect(page.locator("#case-panel .notice-stale")).to_be_focused()
    expect(page.locator("#case-state")).to_have_text("已受理")
    expect(page.locator("#move-reject")).to_have_count(0)  # no longer possible
    expect(page.locator("#move-triage")).to_have_count(1)
    shot(page, "25-stale-version")
    case.refresh_from_db()
    assert case.state == CaseState.ACCEPTED
