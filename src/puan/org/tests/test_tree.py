from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from puan.core.errors import InvalidInput
from puan.org.models import Unit, UnitLevel, path_upper_bound, subtree_q
from puan.org.selectors import area_units
from puan.org.services import unit_create, unit_move, units_create_bulk

pytestmark = pytest.mark.django_db


def test_it_gives_each_unit_a_path_under_its_parent(tree):
    assert tree.grid_a1.path.startswith(tree.community_a.path)
    assert tree.community_a.path.startswith(tree.street_a.path)
    assert tree.street_a.path.startswith(tree.district.path)
    assert tree.grid_a1.depth == 4
    assert [u.pk for u in Unit.objects.filter(subtree_q(tree.street_a.path))] == [
        tree.street_a.pk,
        tree.community_a.pk,
        tree.grid_a1.pk,
        tree.grid_a2.pk,
    ]


def test_it_never_counts_a_sibling_with_a_longer_id_as_a_descendant():
    # Fixed-width segments: unit 1's subtree must not contain unit 10's.
    assert path_upper_bound("00000001") == "00000002"
    assert not ("00000010" >= "00000001" and path_upper_bound("00000001") > "00000010")


def test_it_refuses_a_level_under_the_wrong_parent(tree):
    with pytest.raises(InvalidInput) as err:
        unit_create(code="X", name="错层网格", level=UnitLevel.GRID, parent=tree.street_a)
    assert err.value.field == "parent"
    with pytest.raises(InvalidInput):
        unit_create(code="dept.x", name="无入驻方式", level=UnitLevel.DEPARTMENT, parent=tree.district)


def test_it_moves_a_subtree_and_rewrites_every_path(tree):
    unit_move(unit=tree.community_a, new_parent=tree.street_b)
    moved = Unit.objects.filter(subtree_q(tree.street_b.path)).values_list("code", flat=True)
    assert set(moved) == {"S2", "C1", "C2", "G11", "G12", "G21"}
    grid = Unit.objects.get(code="G11")
    assert grid.path.startswith(Unit.objects.get(code="S2").path)
    assert grid.depth == 4


def test_it_answers_unit_and_below_for_2000_grids_in_one_indexed_query(tree):
    communities = units_create_bulk(
        rows=[
            {"code": f"C-{i}", "name": f"社区{i}", "level": UnitLevel.COMMUNITY, "parent_code": "S1"}
            for i in range(100)
        ],
        parent_by_code={"S1": tree.street_a},
    )
    by_code = {c.code: c for c in communities}
    units_create_bulk(
        rows=[
            {"code": f"G-{i}", "name": f"网格{i}", "level": UnitLevel.GRID, "parent_code": f"C-{i % 100}"}
            for i in range(2000)
        ],
        parent_by_code=by_code,
    )
    with CaptureQueriesContext(connection) as ctx:
        count = Unit.objects.filter(subtree_q(tree.street_a.path), level=UnitLevel.GRID).count()
    assert count == 2000 + 2  # plus the fixture's two grids of 深井社区
    assert len(ctx.captured_queries) == 1
    sql = ctx.captured_queries[0]["sql"]
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("EXPLAIN QUERY PLAN " + sql)
            plan = " ".join(str(r) for r in cur.fetchall())
            assert "USING INDEX" in plan or "USING COVERING INDEX" in plan
        else:
            cur.execute("SET enable_seqscan = off")
            cur.execute("EXPLAIN " + sql)
            plan = " ".join(r[0] for r in cur.fetchall())
            cur.execute("SET enable_seqscan = on")
            assert "Index" in plan


def test_it_reads_area_units_from_a_copy_that_follows_committed_edits(tree, django_assert_num_queries):
    path = tree.grid_a1.path
    first = area_units(path)
    assert [u.name for u in sorted(first.values(), key=lambda u: u.depth)] == ["黄埔区", "长洲街", "深井社区"]
    with django_assert_num_queries(0):
        assert area_units(path).keys() == first.keys()
    # A community created after the copy was taken is read from the database, never missed.
    new = unit_create(code="C9", name="新建社区", level=UnitLevel.COMMUNITY, parent=tree.street_a)
    assert area_units(new.path)[new.path].name == "新建社区"


def test_it_refreshes_the_area_unit_copy_when_a_unit_is_renamed(tree, django_capture_on_commit_callbacks):
    assert area_units(tree.grid_a1.path)[tree.community_a.path].name == "深井社区"
    with django_capture_on_commit_callbacks(execute=True):
        community = Unit.objects.get(pk=tree.community_a.pk)
        community.name = "深井村"
        community.save()
    assert area_units(tree.grid_a1.path)[tree.community_a.path].name == "深井村"
