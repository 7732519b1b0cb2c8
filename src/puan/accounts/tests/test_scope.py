"""Data scope per role: inside → visible, outside → 404, through the selectors and the API."""

from __future__ import annotations

import pytest

from puan.accounts.roles import Role
from puan.accounts.scope import scope_for
from puan.accounts.tests.factories import make_user
from puan.org.models import Unit
from puan.org.selectors import unit_list_visible_to

pytestmark = pytest.mark.django_db


def visible_codes(user) -> set[str]:
    return set(unit_list_visible_to(user=user).values_list("code", flat=True))


ALL = {"D", "S1", "S2", "C1", "C2", "G11", "G12", "G21", "dept.justice", "dept.police"}


@pytest.mark.parametrize(
    ("role", "unit_code", "expected"),
    [
        (Role.ADMIN, "D", ALL),
        (Role.DISPATCHER, "D", ALL),
        (Role.LEADER, "S1", {"S1", "C1", "G11", "G12"}),
        (Role.UNIT_HANDLER, "S1", {"S1", "C1", "G11", "G12"}),
        (Role.UNIT_HANDLER, "C2", {"C2", "G21"}),
        (Role.GRID_WORKER, "G11", {"G11"}),
        (Role.DEPARTMENT_HANDLER, "dept.justice", {"dept.justice"}),
        (Role.MEDIATOR, "dept.justice", {"dept.justice"}),
        (Role.VOLUNTEER, "G21", {"G21"}),
    ],
)
def test_it_shows_each_role_exactly_its_units(tree, api, role, unit_code, expected):
    user = make_user(role, unit=Unit.objects.get(code=unit_code))
    assert visible_codes(user) == expected
    api.login_as(user)
    for unit in Unit.objects.all():
        response = api.get(f"/api/v1/units/{unit.pk}")
        assert response.status_code == (200 if unit.code in expected else 404), unit.code
    listed = api.get("/api/v1/units", {"limit": 1000}).json()
    assert {u["code"] for u in listed["items"]} == expected
    assert listed["count"] == len(expected)


def test_it_gives_a_user_with_several_roles_exactly_the_union(tree):
    grid_worker = make_user(Role.GRID_WORKER, unit=tree.grid_a1)
    both = make_user(Role.GRID_WORKER, Role.VOLUNTEER, unit=tree.grid_a1)
    scope = scope_for(both)
    assert scope.unit_paths == scope_for(grid_worker).unit_paths
    assert scope.owner_id == both.pk
    assert scope_for(grid_worker).owner_id is None

    # A row-level check over a model with all three kinds of field: users.
    from puan.accounts.models import User

    def seen(user):
        q = scope_for(user).q(path="unit__path", department="unit_id", owner="pk")
        return set(User.objects.filter(q).values_list("pk", flat=True))

    justice = make_user(Role.DEPARTMENT_HANDLER, unit=tree.justice)
    street = make_user(Role.UNIT_HANDLER, unit=tree.street_b)
    mixed = make_user(Role.DEPARTMENT_HANDLER, Role.UNIT_HANDLER, unit=tree.justice)
    assert seen(mixed) == seen(justice) | {mixed.pk}
    multi = make_user(Role.UNIT_HANDLER, Role.VOLUNTEER, unit=tree.street_b)
    assert seen(multi) == seen(street) | {multi.pk}


def test_it_gives_an_inactive_or_roleless_user_nothing(tree):
    nobody = make_user(unit=tree.district)
    assert visible_codes(nobody) == {"D"}  # only the unit they belong to
    assert scope_for(nobody).is_empty
    gone = make_user(Role.DISPATCHER, unit=tree.district)
    gone.is_active = False
    gone.save()
    assert scope_for(gone).is_empty


def test_it_hides_people_outside_scope_with_404(tree, api):
    inside = make_user(Role.GRID_WORKER, unit=tree.grid_a2)
    outside = make_user(Role.GRID_WORKER, unit=tree.grid_b1)
    handler = make_user(Role.UNIT_HANDLER, unit=tree.community_a)
    api.login_as(handler)
    assert api.get(f"/api/v1/users/{inside.pk}").status_code == 200
    assert api.get(f"/api/v1/users/{outside.pk}").status_code == 404
    assert api.get("/api/v1/users/999999").status_code == 404
