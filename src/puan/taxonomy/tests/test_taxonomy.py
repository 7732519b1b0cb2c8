from __future__ import annotations

import pytest

from puan.accounts.roles import Role
from puan.accounts.tests.factories import make_user
from puan.taxonomy.models import Category, ItemGroup
from puan.taxonomy.services import taxonomy_load

pytestmark = pytest.mark.django_db


def test_it_loads_16_groups_and_60_plus_categories_with_defaults(world):
    assert ItemGroup.objects.count() == 16
    assert Category.objects.count() >= 60
    fire = Category.objects.get(name="火情火灾")
    assert (fire.default_lane, fire.first_tier, fire.lead_department.code) == ("urgent", 1, "dept.fire")
    names = set(ItemGroup.objects.values_list("name", flat=True))
    assert {"党建", "政法", "教育", "消防安全", "疫情防控", "五类车"} <= names


def test_it_reloads_without_duplicating(world):
    before = Category.objects.count()
    Category.objects.filter(name="火情火灾").update(name="改过的名字")
    taxonomy_load()
    assert Category.objects.count() == before
    assert Category.objects.filter(name="火情火灾").exists()


def test_it_serves_the_taxonomy(world, api):
    user = make_user(Role.GRID_WORKER, unit=world.grid_a1)
    body = api.login_as(user).get("/api/v1/taxonomy").json()
    assert len(body) == 16
    total = sum(len(g["categories"]) for g in body)
    public = sum(len(g["categories"]) for g in api.get("/api/v1/taxonomy", {"public": "true"}).json())
    assert total == Category.objects.count() and 0 < public < total
    first = body[0]["categories"][0]
    assert set(first) >= {"code", "name", "default_lane", "first_tier", "lead_department", "keywords"}


def test_it_stops_taking_reports_of_a_category_switched_off(world, django_capture_on_commit_callbacks):
    from puan.cases.tests.helpers import People, intake
    from puan.core.errors import InvalidInput
    from puan.taxonomy.selectors import category_by_code

    assert category_by_code("G15-01").is_active
    with django_capture_on_commit_callbacks(execute=True):
        category = Category.objects.get(code="G15-01")
        category.is_active = False
        category.save()
    # The process's copy was refreshed when the change committed.
    assert not category_by_code("G15-01").is_active
    with pytest.raises(InvalidInput) as refused:
        intake(People(world).grid_worker)
    assert refused.value.field == "category"
