from __future__ import annotations

import pytest
from django.test import Client

from puan.accounts.roles import Role
from puan.accounts.tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_it_lets_an_administrator_browse_the_unit_tree_in_chinese(tree):
    admin = make_user(Role.ADMIN, unit=tree.district)
    client = Client()
    client.force_login(admin)
    index = client.get("/admin/")
    assert index.status_code == 200
    assert "组织单位" in index.content.decode()
    page = client.get("/admin/org/unit/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "深井社区第01网格" in text and "查看下级" in text
    children = client.get(f"/admin/org/unit/?parent__id__exact={tree.community_a.pk}").content.decode()
    assert "深井社区第01网格" in children and "刘村第01网格" not in children
    assert client.get(f"/admin/org/unit/{tree.grid_a1.pk}/change/").status_code == 200
    assert client.get("/admin/taxonomy/category/").status_code == 200
    assert client.get("/admin/accounts/user/").status_code == 200


def test_it_creates_a_unit_through_the_admin_with_its_path(tree):
    admin = make_user(Role.ADMIN, unit=tree.district)
    client = Client()
    client.force_login(admin)
    response = client.post(
        "/admin/org/unit/add/",
        {
            "code": "C3",
            "name": "长洲社区",
            "level": "community",
            "kind": "community",
            "parent": tree.street_a.pk,
            "stationing": "",
            "boundary": "null",
            "is_active": "on",
            "sort_order": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    from puan.org.models import Unit

    unit = Unit.objects.get(code="C3")
    assert unit.path.startswith(tree.street_a.path) and unit.depth == 3


@pytest.mark.parametrize(
    "role",
    [
        Role.DISPATCHER,
        Role.UNIT_HANDLER,
        Role.GRID_WORKER,
        Role.DEPARTMENT_HANDLER,
        Role.MEDIATOR,
        Role.LEADER,
        Role.VOLUNTEER,
    ],
)
def test_it_refuses_every_other_role(tree, role):
    user = make_user(role, unit=tree.district)
    user.is_staff = True  # even a staff flag set by hand does not open the site
    user.save()
    client = Client()
    client.force_login(user)
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/org/unit/").status_code == 302
