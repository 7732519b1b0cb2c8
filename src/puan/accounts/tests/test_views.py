"""Signing in with the lockout, signing out, changing the password."""

from __future__ import annotations

import pytest
from django.test import Client

from puan.accounts.roles import Role
from puan.accounts.tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def test_it_signs_a_handler_in_to_the_workbench(tree):
    make_user(Role.UNIT_HANDLER, unit=tree.community_a, username="handler")
    client = Client()
    page = client.get("/login/").content.decode()
    assert '<label for="id_username">用户名</label>' in page and "连续输错密码 5 次" in page
    response = client.post("/login/", {"username": "handler", "password": PASSWORD})
    assert response.status_code == 302 and response.url == "/work/"
    assert client.get("/").url == "/work/"


def test_it_sends_a_grid_worker_to_the_phone_page_and_honours_next(tree):
    make_user(Role.GRID_WORKER, unit=tree.grid_a1, username="gridder")
    response = Client().post("/login/", {"username": "gridder", "password": PASSWORD})
    assert response.url == "/m/"
    response = Client().post("/login/?next=/inbox/", {"username": "gridder", "password": PASSWORD, "next": "/inbox/"})
    assert response.url == "/inbox/"
    # Only our own site: a crafted link cannot send the user elsewhere after signing in.
    response = Client().post("/login/", {"username": "gridder", "password": PASSWORD, "next": "https://evil.example/"})
    assert response.url == "/m/"


def test_it_locks_the_account_after_repeated_failures(tree, settings):
    settings.PUAN_LOCKOUT_THRESHOLD = 3
    make_user(Role.UNIT_HANDLER, unit=tree.community_a, username="handler")
    client = Client()
    for _ in range(2):
        wrong = client.post("/login/", {"username": "handler", "password": "wrong-password"})
        assert wrong.status_code == 401 and "用户名或密码错误。" in wrong.content.decode()
    locked = client.post("/login/", {"username": "handler", "password": "wrong-password"})
    assert locked.status_code == 401 and "账号已锁定" in locked.content.decode()
    still = client.post("/login/", {"username": "handler", "password": PASSWORD})
    assert still.status_code == 401 and "账号已锁定" in still.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_asks_for_both_fields_in_chinese(tree):
    response = Client().post("/login/", {"username": "", "password": ""})
    html = response.content.decode()
    assert response.status_code == 422 and "请输入用户名。" in html and "请输入密码。" in html


def test_it_signs_out_only_by_post(tree):
    user = make_user(Role.UNIT_HANDLER, unit=tree.community_a)
    client = Client()
    client.force_login(user)
    assert client.get("/logout/").status_code == 405
    assert "_auth_user_id" in client.session
    response = client.post("/logout/")
    assert response.status_code == 302 and response.url == "/login/"
    assert client.get("/work/").status_code == 302


def test_it_changes_the_password(tree):
    user = make_user(Role.UNIT_HANDLER, unit=tree.community_a, username="handler")
    client = Client()
    client.force_login(user)
    assert client.get("/account/password/").status_code == 200
    bad = client.post(
        "/account/password/",
        {"old_password": "nope", "new_password1": "Puan-New-2026!", "new_password2": "Puan-New-2026!"},
    )
    assert bad.status_code == 422 and "旧密码不正确" in bad.content.decode()
    good = client.post(
        "/account/password/",
        {"old_password": PASSWORD, "new_password1": "Puan-New-2026!", "new_password2": "Puan-New-2026!"},
    )
    assert good.status_code == 200 and "密码已修改。" in good.content.decode()
    assert client.get("/work/").status_code == 200  # this session stays signed in
    assert Client().post("/login/", {"username": "handler", "password": "Puan-New-2026!"}).status_code == 302
    assert client.put("/account/password/").status_code == 405
    assert Client().get("/account/password/").status_code == 302
