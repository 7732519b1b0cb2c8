"""The demo district generator: pure data, so no database and no Django."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from puan.org.demo_geo import DemoDistrict, generate_district, to_feature_collection

SOUTH_STREETS = ("黄埔街", "鱼珠街", "文冲街", "大沙街", "红山街", "穗东街", "南岗街", "夏港街")
MIDDLE_STREETS = ("云埔街", "萝岗街", "联和街", "永和街", "长岭街")
NORTH_STREETS = ("九佛街", "新龙镇")
ALL_STREETS = {*SOUTH_STREETS, *MIDDLE_STREETS, *NORTH_STREETS, "长洲街"}


@pytest.fixture(scope="module")
def district() -> DemoDistrict:
    return generate_district()


@pytest.fixture(scope="module")
def grids(district: DemoDistrict) -> dict[str, shapely.Geometry]:
    return {g.code: shape(g.geometry) for s in district.streets for c in s.communities for g in c.grids}


def _communities(district: DemoDistrict):
    return [c for s in district.streets for c in s.communities]


def _offices(district: DemoDistrict):
    return [o for p in district.police_stations for o in p.offices]


def _units(district: DemoDistrict):
    return [u for o in _offices(district) for u in o.emergency_units]


def test_it_is_deterministic(district):
    assert generate_district() == district


def test_it_generates_the_expected_counts(district, grids):
    communities = _communities(district)
    assert len(district.streets) == 16
    assert 115 <= len(communities) <= 125
    assert all(5 <= len(s.communities) <= 10 for s in district.streets)
    assert 1950 <= len(grids) <= 2100
    assert all(len(c.grids) >= 6 for c in communities)
    assert len(district.police_stations) == 10
    assert len(_offices(district)) == 155
    assert len(_units(district)) == 2048


def test_it_spreads_communities_and_grids_by_area(district):
    streets = sorted(district.streets, key=lambda s: shape(s.geometry).area)
    # The biggest streets never get fewer communities than the smallest.
    assert len(streets[-1].communities) >= len(streets[0].communities)
    communities = _communities(district)
    density = [len(c.grids) / shape(c.geometry).area for c in communities if len(c.grids) > 6]
    assert max(density) / min(density) < 2.0


def test_it_uses_huangpu_names_and_codes(district):
    assert (district.code, district.name) == ("440112", "黄埔区")
    assert {s.name for s in district.streets} == ALL_STREETS
    assert [s.code for s in district.streets] == [f"440112{i:03d}" for i in range(1, 17)]
    kinds = {s.name: s.kind for s in district.streets}
    assert kinds.pop("新龙镇") == "town"
    assert set(kinds.values()) == {"street"}

    by_street = {s.name: {c.name: c for c in s.communities} for s in district.streets}
    assert "深井社区" in by_street["长洲街"]
    assert by_street["云埔街"]["刘村"].kind == "village"
    for street in district.streets:
        for community in street.communities:
            assert re.fullmatch(rf"{street.code}\d{{3}}", community.code)
            assert community.kind == ("village" if community.name.endswith("村") else "community")
            assert community.name.endswith(("社区", "村"))
            for grid in community.grids:
                assert re.fullmatch(rf"{community.code}\d{{3}}", grid.code)
                assert re.fullmatch(rf"{community.name}第\d{{2,}}网格", grid.name)
    for name in NORTH_STREETS:
        assert all(c.kind == "village" for c in by_street[name].values())
    for name in (*SOUTH_STREETS, "长洲街"):
        assert all(c.kind == "community" for c in by_street[name].values())


def test_it_keeps_codes_and_names_unique(district, grids):
    communities = _communities(district)
    offices = _offices(district)
    units = _units(district)
    codes = [
        district.code,
        *(s.code for s in district.streets),
        *(c.code for c in communities),
        *grids,
        *(p.code for p in district.police_stations),
        *(o.code for o in offices),
        *(u.code for u in units),
    ]
    assert len(codes) == len(set(codes))
    for names in (
        [c.name for c in communities],
        [g.name for c in communities for g in c.grids],
        [p.name for p in district.police_stations],
        [o.name for o in offices],
        [u.name for u in units],
    ):
        assert len(names) == len(set(names))


def test_it_draws_an_irregular_district_filling_most_of_the_box(district):
    outline = shape(district.geometry)
    assert shapely.is_valid(outline)
    lon_min, lat_min, lon_max, lat_max = outline.bounds
    assert lon_min >= 113.40 and lon_max <= 113.62 and lat_min >= 23.05 and lat_max <= 23.42
    box_area = (113.62 - 113.40) * (23.42 - 23.05)
    assert outline.area > 0.6 * box_area
    mainland = max(shapely.get_parts(outline), key=lambda p: p.area)
    # Not a rectangle, and its southern edge is the river.
    assert mainland.area < 0.9 * mainland.envelope.area
    assert 23.05 <= mainland.bounds[1] <= 23.10


def test_it_places_streets_roughly_where_they_are(district):
    centre = {s.name: shape(s.geometry).centroid for s in district.streets}
    for name in SOUTH_STREETS:
        assert centre[name].y < 23.16, name
    assert min(centre[n].y for n in NORTH_STREETS) > max(centre[n].y for n in MIDDLE_STREETS)
    assert min(centre[n].y for n in MIDDLE_STREETS) > max(centre[n].y for n in SOUTH_STREETS)
    # 长洲街 is an island in the river, south-west of the district's centre.
    island = shape(next(s.geometry for s in district.streets if s.name == "长洲街"))
    others = shapely.union_all([shape(s.geometry) for s in district.streets if s.name != "长洲街"])
    assert island.distance(others) > 0.001
    district_centre = shape(district.geometry).centroid
    assert centre["长洲街"].x < district_centre.x
    assert centre["长洲街"].y == min(c.y for c in centre.values())


def test_it_makes_every_grid_a_valid_rounded_polygon(district, grids):
    geoms = np.array(list(grids.values()))
    assert shapely.is_valid(geoms).all()
    assert not shapely.is_empty(geoms).any()
    assert (shapely.area(geoms) > 0).all()
    assert set(shapely.get_type_id(geoms).tolist()) <= {3, 6}  # Polygon, MultiPolygon
    coords = shapely.get_coordinates(geoms)
    assert np.array_equal(coords, np.round(coords, 6))


def test_it_tiles_each_community_with_its_grids(district, grids):
    for community in _communities(district):
        outline = shape(community.geometry)
        covered = shapely.union_all([grids[g.code] for g in community.grids])
        assert covered.area == pytest.approx(outline.area, rel=1e-9)
        outside = shapely.difference([grids[g.code] for g in community.grids], outline)
        assert shapely.area(outside).max() <= 1e-12


def test_it_tiles_each_street_with_its_communities(district):
    outline = shape(district.geometry)
    street_area = 0.0
    for street in district.streets:
        area = shape(street.geometry).area
        covered = shapely.union_all([shape(c.geometry) for c in street.communities])
        assert covered.area == pytest.approx(area, rel=1e-9)
        street_area += area
    assert street_area == pytest.approx(outline.area, rel=1e-9)


def test_it_never_overlaps_two_grids(grids):
    geoms = np.array(list(grids.values()))
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = left < right
    overlap = shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]]))
    assert overlap.max() <= 1e-12


def test_it_keeps_every_grid_inside_the_district(district, grids):
    outline = shape(district.geometry)
    outside = shapely.area(shapely.difference(np.array(list(grids.values())), outline))
    assert outside.max() <= 1e-12


def test_it_gives_each_station_one_or_two_neighbouring_streets(district, grids):
    station_of_grid = {code: p.code for p in district.police_stations for o in p.offices for code in o.grid_codes}
    streets_of_station: dict[str, list[shapely.Geometry]] = {}
    for street in district.streets:
        stations = {station_of_grid[g.code] for c in street.communities for g in c.grids}
        assert len(stations) == 1, street.name
        streets_of_station.setdefault(stations.pop(), []).append(shape(street.geometry))
    assert [p.code for p in district.police_stations] == [f"PS{i:02d}" for i in range(1, 11)]
    for streets in streets_of_station.values():
        assert len(streets) in (1, 2)
        if len(streets) == 2:
            assert shapely.intersection(*streets).length > 0
    assert all(p.name.endswith("派出所") for p in district.police_stations)


def test_it_puts_every_grid_in_exactly_one_contiguous_police_office(district, grids):
    offices = _offices(district)
    assert sorted(code for o in offices for code in o.grid_codes) == sorted(grids)
    for station in district.police_stations:
        for index, office in enumerate(station.offices, start=1):
            assert office.code == f"{station.code}-W{index:02d}"
            assert office.name.endswith("警务室")
            assert 10 <= len(office.grid_codes) <= 17
            area = shapely.coverage_union_all([grids[c] for c in office.grid_codes])
            assert area.geom_type == "Polygon", office.code


def test_it_spreads_emergency_units_over_offices_by_grid_count(district, grids):
    units = _units(district)
    assert [u.code for u in units] == [f"EU{i:04d}" for i in range(1, 2049)]
    per_grid = 2048 / len(grids)
    for office in _offices(district):
        assert abs(len(office.emergency_units) - per_grid * len(office.grid_codes)) < 1.5
        assert all(u.name.endswith("最小应急单元") for u in office.emergency_units)


def test_it_places_each_emergency_unit_strictly_inside_one_of_its_offices_grids(district, grids):
    for office in _offices(district):
        for unit in office.emergency_units:
            assert unit.grid_code in office.grid_codes
            assert shapely.contains_properly(grids[unit.grid_code], shapely.Point(unit.lon, unit.lat))


def test_it_exports_the_grids_as_an_importable_feature_collection(district, grids):
    collection = to_feature_collection(district)
    assert collection["type"] == "FeatureCollection"
    features = collection["features"]
    assert [f["properties"]["code"] for f in features] == list(grids)
    community_codes = {c.code for c in _communities(district)}
    for feature in features:
        properties = feature["properties"]
        assert feature["type"] == "Feature"
        assert set(properties) == {"code", "name", "community"}
        assert properties["community"] in community_codes
        assert properties["code"].startswith(properties["community"])
        assert shape(feature["geometry"]).equals(grids[properties["code"]])
    assert json.loads(json.dumps(collection)) == collection
