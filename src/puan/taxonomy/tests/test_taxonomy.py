from __future__ import annotations

import json

import pytest

from puan.accounts.roles import Role
from puan.accounts.tests.factories import make_user
from puan.org.models import UnitLevel
from puan.org.services import unit_create
from puan.taxonomy.models import Category, ItemGroup
from puan.taxonomy.services import DEFAULT_TAXONOMY_FILE, taxonomy_load

pytestmark = pytest.mark.django_db

DEPARTMENTS = json.loads(
    (DEFAULT_TAXONOMY_FILE.parent.parent.parent / "org" / "data" / "departments.json").read_text("utf-8")
)["departments"]


@pytest.fixture
def loaded(tree):
    for d in DEPARTMENTS:
        if d["code"] not in ("justice", "police"):
            unit_create(
                code=f"dept.{d['code']}",
                name=d["name"],
                level=UnitLevel.DEPARTMENT,
                parent=tree.district,
                stationing=d["stationing"],
            )
    taxonomy_load()
    return tree


def test_it_loads_16_groups_and_60_plus_categories_with_defaults(loaded):
    assert ItemGroup.objects.count() == 16
    assert Category.objects.count() >= 60
    fire = Category.objects.get(name="火情火灾")
    assert (fire.default_lane, fire.first_tier, fire.lead_department.code) == ("urgent", 1, "dept.fire")
    names = set(ItemGroup.objects.values_list("name", flat=True))
    assert {"党建", "政法", "教育", "消防安全", "疫情防控", "五类车"} <= names


def test_it_reloads_without_duplicating(loaded):
    before = Category.objects.count()
    Category.objects.filter(name="火情火灾").update(name="改过的名字")
    taxonomy_load()
    assert Category.objects.count() == before
    assert Category.objects.filter(name="火情火灾").exists()


def test_it_serves_the_taxonomy(loaded, api):
    user = make_user(Role.GRID_WORKER, unit=loaded.grid_a1)
    body = api.login_as(user).get("/api/v1/taxonomy").json()
    assert len(body) == 16
    total = sum(len(g["categories"]) for g in body)
    public = sum(len(g["categories"]) for g in api.get("/api/v1/taxonomy", {"public": "true"}).json())
    assert total == Category.objects.count() and 0 < public < total
    first = body[0]["categories"][0]
    assert set(first) >= {"code", "name", "default_lane", "first_tier", "lead_department", "keywords"}
