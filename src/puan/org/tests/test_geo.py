from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
from django.core.management import CommandError, call_command

from puan.core.errors import InvalidInput
from puan.org import geo
from puan.org.models import GeoVersion, Unit
from puan.org.services import grids_import
from puan.org.tests.factories import square

pytestmark = pytest.mark.django_db


def feature(code, name, community, geometry):
    return {"type": "Feature", "properties": {"code": code, "name": name, "community": community}, "geometry": geometry}


def collection(*features):
    return {"type": "FeatureCollection", "features": list(features)}


def test_it_locates_a_point_to_its_grid_and_ancestors(tree):
    hit = geo.locate(113.405, 23.105)
    assert hit.grid_id == tree.grid_a1.pk
    assert hit.path.startswith(tree.community_a.path)


def test_it_resolves_points_outside_every_grid_to_none(tree):
    assert geo.locate(113.50, 23.30) is None
    assert geo.locate(113.435, 23.105) is None  # inside the district but no grid there


def test_it_resolves_a_shared_edge_to_the_same_grid_every_time(tree):
    # x = 113.41 is the edge between 深井 01 and 02; the smaller id wins.
    winner = min(tree.grid_a1.pk, tree.grid_a2.pk)
    for _ in range(3):
        geo.invalidate()
        assert geo.locate(113.41, 23.105).grid_id == winner
    index = geo.grid_index()
    found = index.locate_many(np.array([113.41, 113.405, 113.9]), np.array([23.105, 23.105, 23.0]))
    assert index.hits[found[0]].grid_id == winner
    assert index.hits[found[1]].grid_id == tree.grid_a1.pk
    assert found[2] == -1


def test_it_rebuilds_the_index_when_boundaries_change(tree):
    assert geo.locate(113.435, 23.115) is None
    grids_import(feature_collection=collection(feature("G22", "刘村第02网格", "C2", square(113.43, 23.11))))
    geo._index.recheck()  # as if the version-check interval had passed
    hit = geo.locate(113.435, 23.115)
    assert hit is not None and hit.grid_code == "G22"
    assert Unit.objects.get(code="G22").parent.code == "C2"


def test_it_updates_an_existing_grid_by_code(tree):
    version = GeoVersion.objects.get().version
    report = grids_import(feature_collection=collection(feature("G21", "刘村第一网格", "C2", square(113.42, 23.11))))
    assert (report.created, report.updated) == (0, 1)
    assert GeoVersion.objects.get().version > version
    geo.invalidate()
    assert geo.locate(113.425, 23.115).grid_code == "G21"
    assert geo.locate(113.425, 23.105) is None


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            feature(
                "N1",
                "自交网格",
                "C2",
                {
                    "type": "Polygon",
                    "coordinates": [
                        [[113.42, 23.11], [113.43, 23.12], [113.43, 23.11], [113.42, 23.12], [113.42, 23.11]]
                    ],
                },
            ),
            "多边形无效",
        ),
        (feature("N1", "重叠网格", "C2", square(113.405, 23.105)), "重叠"),
        (feature("N1", "出界网格", "C2", square(113.435, 23.115)), "辖区之外"),
        (feature("N1", "无社区网格", "C404", square(113.42, 23.11)), "找不到社区"),
        (feature("N1", "坏坐标", "C2", {"type": "Polygon", "coordinates": [[["a", 1]]]}), "坐标无法解析"),
        (feature("N1", "点", "C2", {"type": "Point", "coordinates": [113.42, 23.11]}), "Polygon"),
        ({"type": "Feature", "properties": {"code": "N1"}, "geometry": square(113.42, 23.11)}, "缺少属性"),
    ],
)
def test_it_rejects_a_bad_feature_by_name_and_keeps_nothing(tree, bad, message):
    good = feature("N0", "好网格", "C2", square(113.42, 23.11))
    before = set(Unit.objects.values_list("code", flat=True))
    with pytest.raises(InvalidInput) as err:
        grids_import(feature_collection=collection(good, bad))
    text = err.value.message
    assert message in text
    assert "第 2 个要素" in text
    assert set(Unit.objects.values_list("code", flat=True)) == before


def test_it_rejects_two_new_features_that_overlap_each_other(tree):
    with pytest.raises(InvalidInput) as err:
        grids_import(
            feature_collection=collection(
                feature("N1", "甲", "C2", square(113.42, 23.11)), feature("N2", "乙", "C2", square(113.425, 23.11))
            )
        )
    assert "N1 甲" in err.value.message and "N2 乙" in err.value.message and "重叠" in err.value.message


def test_it_imports_from_a_file_through_the_command(tree, tmp_path, capsys):
    path = tmp_path / "grids.geojson"
    path.write_text(
        json.dumps(collection(feature("N1", "刘村第03网格", "C2", square(113.42, 23.11)))), encoding="utf-8"
    )
    call_command("import_grids", str(path))
    assert "新增 1" in capsys.readouterr().out
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="JSON"):
        call_command("import_grids", str(bad))


@pytest.fixture(scope="module")
def demo_index():
    from puan.org.demo_geo import generate_district

    district = generate_district()
    grids = [g for s in district.streets for c in s.communities for g in c.grids]
    # Ids out of order against the geometry, so "smallest id wins" is not "first built".
    ids = np.random.default_rng(3).permutation(len(grids)) + 1
    return geo.GridIndex([(int(i), g.code, g.name, f"{i:08d}", g.geometry) for i, g in zip(ids, grids, strict=True)])


def _tree_answers(index, lons, lats):
    return [index.hits[p].grid_id if p >= 0 else None for p in index.locate_many(lons, lats)]


def test_its_single_lookup_agrees_with_the_tree_everywhere(demo_index):
    """Random points over the district, and the hard ones: every vertex, the middle of
    every edge (shared edges included) and points a hair to either side of an edge."""
    index = demo_index
    rng = np.random.default_rng(11)
    minx, miny, maxx, maxy = shapely.total_bounds(index.geometries)
    lons, lats = [rng.uniform(minx - 0.01, maxx + 0.01, 20_000)], [rng.uniform(miny - 0.01, maxy + 0.01, 20_000)]
    for geometry in index.geometries[:400]:
        ring = np.asarray(geometry.exterior.coords)
        middles = (ring[:-1] + ring[1:]) / 2
        normals = (ring[1:] - ring[:-1])[:, ::-1] * [1, -1]
        for points in (ring, middles, middles + normals * 1e-12, middles - normals * 1e-12, middles + normals * 1e-7):
            lons.append(points[:, 0])
            lats.append(points[:, 1])
    lons, lats = np.concatenate(lons), np.concatenate(lats)
    expected = _tree_answers(index, lons, lats)
    got = [
        hit.grid_id if (hit := index.locate(x, y)) else None for x, y in zip(lons.tolist(), lats.tolist(), strict=True)
    ]
    mismatches = [(x, y, e, g) for x, y, e, g in zip(lons, lats, expected, got, strict=True) if e != g]
    assert not mismatches, mismatches[:5]
    assert sum(e is not None for e in expected) > 20_000  # most points land in some grid


def test_its_single_lookup_takes_a_grid_with_a_hole_and_a_multipolygon():
    outer = [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]]
    hole = [[1, 1], [3, 1], [3, 3], [1, 3], [1, 1]]
    index = geo.GridIndex(
        [
            (1, "A", "甲", "1", {"type": "Polygon", "coordinates": [outer, hole]}),
            (2, "B", "乙", "2", {"type": "Polygon", "coordinates": [hole]}),
            (
                3,
                "C",
                "丙",
                "3",
                {
                    "type": "MultiPolygon",
                    "coordinates": [[[[5, 0], [6, 0], [6, 1], [5, 0]]], [[[7, 0], [8, 0], [8, 1], [7, 0]]]],
                },
            ),
        ]
    )
    assert index.locate(0.5, 0.5).grid_id == 1
    assert index.locate(2, 2).grid_id == 2  # in the hole: the grid that fills it
    assert index.locate(1, 2).grid_id == 1  # on the hole's edge, shared: the smaller id
    assert index.locate(7.9, 0.5).grid_id == 3
    assert index.locate(6.5, 0.5) is None
    assert index.locate(4.5, 2) is None
    assert index.locate(float("nan"), 2) is None and index.locate(1, float("inf")) is None
    assert geo.GridIndex([]).locate(1, 2) is None
