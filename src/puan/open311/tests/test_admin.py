"""Administrators issue, rotate and revoke keys in the admin and on the command line."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from puan.accounts.roles import Role
from puan.accounts.tests.factories import make_user
from puan.core.errors import NotAuthenticated
from puan.open311 import services
from puan.open311.models import ClientSystem

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(tree) -> Client:
    client = Client()
    client.force_login(make_user(Role.ADMIN, unit=tree.district))
    return client


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _key_in(messages: list[str]) -> str:
    line = next(m for m in messages if "只显示这一次" in m)
    return line.rsplit("：", 1)[1]


def test_it_shows_a_new_clients_key_once_in_the_admin(admin_client):
    response = admin_client.post(
        "/admin/open311/clientsystem/add/",
        {"name": "12345 市民服务热线平台", "contact": "值班室", "note": "", "rate_per_minute": "30"},
        follow=True,
    )
    assert response.status_code == 200
    key = _key_in(_messages(response))
    client = ClientSystem.objects.get(name="12345 市民服务热线平台")
    assert client.rate_per_minute == 30
    assert services.client_system_authenticate(key=key) == client
    page = admin_client.get(f"/admin/open311/clientsystem/{client.pk}/change/").content.decode()
    assert key not in page and client.key_prefix in page
    assert admin_client.get("/admin/open311/open311request/").status_code == 200


def test_it_rotates_and_revokes_keys_with_admin_actions(admin_client):
    client, old = services.client_system_create(name="A")
    response = admin_client.post(
        "/admin/open311/clientsystem/",
        {"action": "issue_new_key", "_selected_action": [client.pk]},
        follow=True,
    )
    new = _key_in(_messages(response))
    assert services.client_system_authenticate(key=new) == client
    with pytest.raises(NotAuthenticated):
        services.client_system_authenticate(key=old)
    admin_client.post("/admin/open311/clientsystem/", {"action": "revoke", "_selected_action": [client.pk]})
    client.refresh_from_db()
    assert client.revoked_at is not None
    with pytest.raises(NotAuthenticated):
        services.client_system_authenticate(key=new)


@pytest.mark.parametrize("role", [Role.DISPATCHER, Role.LEADER])
def test_it_keeps_other_roles_out_of_the_key_admin(tree, role):
    client = Client()
    client.force_login(make_user(role, unit=tree.district))
    response = client.get("/admin/open311/clientsystem/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_it_prints_a_new_key_from_the_command_line(db):
    out, err = io.StringIO(), io.StringIO()
    call_command("open311_key", "街道小程序", "--contact", "张工", stdout=out, stderr=err)
    key = out.getvalue().strip()
    client = services.client_system_authenticate(key=key)
    assert client.name == "街道小程序" and client.contact == "张工"
    assert "只显示这一次" in err.getvalue()
    with pytest.raises(CommandError, match="--rotate"):
        call_command("open311_key", "街道小程序", stdout=io.StringIO(), stderr=io.StringIO())
    out = io.StringIO()
    call_command("open311_key", "街道小程序", "--rotate", stdout=out, stderr=io.StringIO())
    assert services.client_system_authenticate(key=out.getvalue().strip()) == client
    with pytest.raises(NotAuthenticated):
        services.client_system_authenticate(key=key)
    with pytest.raises(CommandError, match="不存在"):
        call_command("open311_key", "没有这个系统", "--rotate", stdout=io.StringIO(), stderr=io.StringIO())
