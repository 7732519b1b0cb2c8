"""A synthetic Huangpu District (黄埔区) for demos and load tests: the administrative tree
down to ~2,000 grids with boundaries, and the police emergency hierarchy laid over it.

Pure data, no Django, so it can be generated and checked anywhere. A loader turns a
`DemoDistrict` into units; `to_feature_collection` gives the grids in the format
`grids_import` reads.

Boundaries are made top-down: streets are Voronoi cells of hand-placed seeds, communities
and grids are Lloyd-relaxed Voronoi cells inside their parent. The finished grid coverage
is then snapped to a 1e-6 degree lattice in one pass and every coarser boundary is the
union of the grids beneath it, so nesting is exact and neighbours share their vertices
bit for bit, before and after rounding to six decimals.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
import shapely

DISTRICT_CODE = "440112"
DISTRICT_NAME = "黄埔区"

# The box the district fills, [lon_min, lat_min, lon_max, lat_max].
BOUNDS = (113.40, 23.05, 113.62, 23.42)

# Six decimals is what the GeoJSON carries; snapping to the same lattice before rounding
# makes the rounding a no-op.
GRID_SIZE = 1e-6

COMMUNITY_TOTAL = 120
COMMUNITIES_PER_STREET = (5, 10)
GRID_TOTAL = 2020
GRIDS_PER_COMMUNITY_MIN = 6
# From the source: 155 police grids and 2,048 minimal emergency units.
OFFICE_TOTAL = 155
EMERGENCY_UNIT_TOTAL = 2048

# Two rounds take the sliver cells out of random seeds; more changes little.
LLOYD_ROUNDS = 2


@dataclass(frozen=True)
class GridSpec:
    code: str
    name: str
    geometry: dict


@dataclass(frozen=True)
class CommunitySpec:
    code: str
    name: str
    kind: str
    geometry: dict
    grids: tuple[GridSpec, ...]


@dataclass(frozen=True)
class StreetSpec:
    code: str
    name: str
    kind: str
    geometry: dict
    communities: tuple[CommunitySpec, ...]


@dataclass(frozen=True)
class EmergencyUnitSpec:
    code: str
    name: str
    lon: float
    lat: float
    grid_code: str


@dataclass(frozen=True)
class PoliceOfficeSpec:
    code: str
    name: str
    grid_codes: tuple[str, ...]
    emergency_units: tuple[EmergencyUnitSpec, ...]


@dataclass(frozen=True)
class PoliceStationSpec:
    code: str
    name: str
    offices: tuple[PoliceOfficeSpec, ...]


@dataclass(frozen=True)
class DemoDistrict:
    code: str
    name: str
    geometry: dict
    streets: tuple[StreetSpec, ...]
    police_stations: tuple[PoliceStationSpec, ...]


# In code order. The seed places each street roughly where the real one is: the old
# Huangpu streets in a row along the Pearl River, the development-zone streets across the
# middle, the two large rural ones in the north. 长洲街 is the island and needs no seed.
_STREETS: tuple[tuple[str, str, tuple[float, float] | None], ...] = (
    ("黄埔街", "street", (113.418, 23.149)),
    ("红山街", "street", (113.500, 23.142)),
    ("鱼珠街", "street", (113.443, 23.148)),
    ("大沙街", "street", (113.476, 23.146)),
    ("文冲街", "street", (113.532, 23.142)),
    ("穗东街", "street", (113.580, 23.143)),
    ("南岗街", "street", (113.606, 23.144)),
    ("长洲街", "street", None),
    ("夏港街", "street", (113.553, 23.142)),
    ("萝岗街", "street", (113.516, 23.268)),
    ("联和街", "street", (113.446, 23.271)),
    ("永和街", "street", (113.595, 23.267)),
    ("云埔街", "street", (113.467, 23.252)),
    ("长岭街", "street", (113.539, 23.279)),
    ("九佛街", "street", (113.475, 23.409)),
    ("新龙镇", "town", (113.563, 23.385)),
)
_ISLAND_STREET = "长洲街"

# Ten names per street, used in order; the first few are real places (深井社区 and 刘村 are
# the ones the source report mentions), the rest are plausible local names.
_COMMUNITY_NAMES: dict[str, tuple[str, ...]] = {
    "黄埔街": ("黄埔社区", "丰乐社区", "怡园社区", "荔园社区", "横沙社区",
              "双沙社区", "黄船社区", "港湾社区", "新港社区", "军校社区"),
    "红山街": ("红山社区", "庙头社区", "下沙社区", "双岗社区", "东苑社区",
              "红荔社区", "红峰社区", "红旗社区", "狮山社区", "洪圣社区"),
    "鱼珠街": ("鱼珠社区", "茅岗社区", "乌冲社区", "石化社区", "珠江社区",
              "港前社区", "木材社区", "鱼珠湾社区", "莲花社区", "丰年社区"),
    "大沙街": ("大沙社区", "姬堂社区", "九沙社区", "沙埔社区", "大沙东社区",
              "荔联社区", "加庄社区", "新溪社区", "凤凰社区", "南湾社区"),
    "文冲街": ("文冲社区", "沙步社区", "文园社区", "开发社区", "东区社区",
              "乌涌社区", "蟹山社区", "船厂社区", "新海社区", "联合社区"),
    "穗东街": ("穗东社区", "夏园社区", "南基社区", "东基社区", "东联社区",
              "宏岗社区", "碧山社区", "东江社区", "金碧社区", "穗丰社区"),
    "南岗街": ("南岗社区", "沙浦社区", "笔岗社区", "康南社区", "南湖社区",
              "南山社区", "雅园社区", "岗联社区", "南兴社区", "南秀社区"),
    "长洲街": ("深井社区", "长洲社区", "安来社区", "金洲社区", "下庄社区",
              "上庄社区", "洲尾社区", "白鹤社区", "岭头社区", "柯拜社区"),
    "夏港街": ("夏港社区", "青年社区", "普晖社区", "开创社区", "锦绣社区",
              "科联社区", "志诚社区", "怡港社区", "夏城社区", "广新社区"),
    "萝岗街": ("萝岗社区", "萝峰社区", "香雪社区", "玉岩社区", "水西社区",
              "水声社区", "塘头社区", "竹园社区", "荔红社区", "萝平社区"),
    "联和街": ("联和社区", "暹岗社区", "天鹿社区", "科城社区", "黄陂村",
              "横坑村", "元贝村", "火村", "樟田村", "柯木塱村"),
    "永和街": ("永和社区", "贤江社区", "永顺社区", "禾丰村", "新庄村",
              "永岗村", "塔岗村", "甘竹村", "东坑村", "荔枝山村"),
    "云埔街": ("云埔社区", "沧联社区", "刘村", "云峰社区", "神舟社区",
              "埔北社区", "宏明社区", "科丰社区", "开源社区", "云港社区"),
    "长岭街": ("长岭社区", "龙湖社区", "金峰社区", "金坑村", "迳下村",
              "水口村", "长平村", "洋田村", "黄麻村", "龙头山村"),
    "九佛街": ("凤尾村", "莲塘村", "重岗村", "燕塘村", "佛塱村",
              "枫下村", "石湖村", "汤村", "新佛村", "九龙村"),
    "新龙镇": ("镇龙村", "福洞村", "麦村", "沙田村", "迳头村",
              "龙岗村", "大田村", "上境村", "广丰村", "三迳村"),
}  # fmt: skip

# Each station covers one street or two that share a border.
_STATIONS: tuple[tuple[str, ...], ...] = (
    ("黄埔街", "鱼珠街"),
    ("大沙街", "红山街"),
    ("文冲街", "夏港街"),
    ("穗东街", "南岗街"),
    ("长洲街",),
    ("联和街",),
    ("萝岗街", "云埔街"),
    ("永和街", "长岭街"),
    ("九佛街",),
    ("新龙镇",),
)

# Emergency units are named after a lane in their community, "<stem><number><kind>".
_ROAD_STEMS = (
    "安来", "长乐", "新安", "兴华", "永安", "龙津", "福源", "康乐", "和平", "文明",
    "仁和", "金沙", "鹤鸣", "青云", "宝华", "丰盛", "东园", "西园", "南华", "北帝",
    "太平", "瑞和", "明珠", "翠竹", "榕树", "海傍", "聚龙", "兴隆", "同福", "怀远",
)  # fmt: skip
_ROAD_KINDS = ("街", "路", "巷")
_ROADS_PER_COMMUNITY = 4
# The source's fire broke out on 安来二街 in 深井社区.
_FIRST_ROAD = {"深井社区": ("安来", "街")}


def generate_district(seed: int = 20260630) -> DemoDistrict:
    """The whole demo district; the same seed always gives the same district."""
    rng = np.random.default_rng(seed)
    streets = []
    grid_shapes: dict[str, shapely.Geometry] = {}
    community_of_grid: dict[str, str] = {}
    for index, ((name, kind, _), communities_grids) in enumerate(zip(_STREETS, _tiling(rng), strict=True), start=1):
        street_code = f"{DISTRICT_CODE}{index:03d}"
        communities = []
        for c_index, (community_name, grid_geoms) in enumerate(
            zip(_COMMUNITY_NAMES[name], communities_grids, strict=False), start=1
        ):
            community_code = f"{street_code}{c_index:03d}"
            grids = []
            for g_index, geom in enumerate(grid_geoms, start=1):
                grid_code = f"{community_code}{g_index:03d}"
                grid_name = f"{community_name}第{g_index:02d}网格"
                grids.append(GridSpec(code=grid_code, name=grid_name, geometry=_geojson(geom)))
                grid_shapes[grid_code] = geom
                community_of_grid[grid_code] = community_name
            communities.append(
                CommunitySpec(
                    code=community_code,
                    name=community_name,
                    kind="village" if community_name.endswith("村") else "community",
                    geometry=_geojson(shapely.coverage_union_all(grid_geoms)),
                    grids=tuple(grids),
                )
            )
        street_shape = shapely.coverage_union_all([g for c in communities_grids for g in c])
        streets.append(
            StreetSpec(
                code=street_code,
                name=name,
                kind=kind,
                geometry=_geojson(street_shape),
                communities=tuple(communities),
            )
        )

    district_shape = shapely.coverage_union_all(list(grid_shapes.values()))
    return DemoDistrict(
        code=DISTRICT_CODE,
        name=DISTRICT_NAME,
        geometry=_geojson(district_shape),
        streets=tuple(streets),
        police_stations=_police(streets, grid_shapes, community_of_grid, rng),
    )


def to_feature_collection(district: DemoDistrict) -> dict:
    """Every grid as a GeoJSON Feature with {code, name, community}: what `import-grids` reads."""
    features = [
        {
            "type": "Feature",
            "geometry": grid.geometry,
            "properties": {"code": grid.code, "name": grid.name, "community": community.code},
        }
        for street in district.streets
        for community in street.communities
        for grid in community.grids
    ]
    return {"type": "FeatureCollection", "features": features}


def _outline(rng: np.random.Generator) -> tuple[shapely.Polygon, shapely.Polygon]:
    """The mainland, cut off by the Pearl River in the south, and 长洲岛 in the river."""
    lon_min, _, lon_max, lat_max = BOUNDS
    theta = np.linspace(0.0, 2.0 * np.pi, 720, endpoint=False)
    # A superellipse fills its box far better than an ellipse. The low harmonics are fixed
    # so every seed gets the same recognisable shape (and the street seeds keep fitting
    # it); the seed only adds a ripple.
    p = 3.5
    radius = (np.abs(np.cos(theta)) ** p + np.abs(np.sin(theta)) ** p) ** (-1.0 / p)
    for k, amplitude, phase in ((2, 0.04, 0.7), (3, 0.05, 2.1), (5, 0.025, 4.0)):
        radius = radius * (1.0 + amplitude * np.sin(k * theta + phase))
    for k in (7, 9, 11):
        radius = radius * (1.0 + 0.008 * np.sin(k * theta + rng.uniform(0.0, 2.0 * np.pi)))
    x = radius * np.cos(theta)
    y = radius * np.sin(theta)
    height = (y - y.min()) / (y.max() - y.min())
    # Narrower in the rural north, widest along the river where the old town is.
    x = x * (1.0 - 0.3 * height)
    lon = lon_min + (x - x.min()) / (x.max() - x.min()) * (lon_max - lon_min)
    # The blob reaches below the river so the cut gives a long, full-width waterfront.
    lat = 23.0 + height * (lat_max - 23.0)
    blob = shapely.Polygon(np.column_stack([lon, lat]))

    river_lon = np.linspace(lon_min - 0.01, lon_max + 0.01, 200)
    river_lat = 23.094 + 0.005 * np.sin((river_lon - lon_min) / 0.09 * 2.0 * np.pi + rng.uniform(0.0, 2.0 * np.pi))
    below_river = shapely.Polygon(
        [*zip(river_lon, river_lat, strict=True), (river_lon[-1], 22.9), (river_lon[0], 22.9)]
    )
    mainland = blob.difference(below_river)

    island_theta = np.linspace(0.0, 2.0 * np.pi, 180, endpoint=False)
    island_radius = 1.0 + 0.12 * np.sin(2 * island_theta + rng.uniform(0.0, 2.0 * np.pi))
    island = shapely.Polygon(
        np.column_stack(
            [
                113.447 + 0.022 * island_radius * np.cos(island_theta),
                23.068 + 0.011 * island_radius * np.sin(island_theta),
            ]
        )
    )
    return mainland, island


def _tiling(rng: np.random.Generator) -> list[list[list[shapely.Geometry]]]:
    """Grid boundaries on the 1e-6 lattice, nested street → community → grid."""
    mainland, island = _outline(rng)
    street_regions = _street_regions(mainland, island)
    community_counts = _apportion([region.area for region in street_regions], COMMUNITY_TOTAL, *COMMUNITIES_PER_STREET)
    community_regions = [
        _relaxed_cells(region, n, rng) for region, n in zip(street_regions, community_counts, strict=True)
    ]
    all_communities = [cell for cells in community_regions for cell in cells]
    grid_counts = _apportion([cell.area for cell in all_communities], GRID_TOTAL, GRIDS_PER_COMMUNITY_MIN)
    grid_cells = [_relaxed_cells(cell, n, rng) for cell, n in zip(all_communities, grid_counts, strict=True)]
    snapped = iter(_snap_coverage([cell for cells in grid_cells for cell in cells]))
    # Back into the nesting the flat list was made from.
    grids = iter([[next(snapped) for _ in cells] for cells in grid_cells])
    return [[next(grids) for _ in cells] for cells in community_regions]


def _street_regions(mainland: shapely.Polygon, island: shapely.Polygon) -> list[shapely.Geometry]:
    seeds = [seed for _, _, seed in _STREETS if seed is not None]
    mainland_cells = iter(_voronoi_cells(np.array(seeds), mainland))
    return [island if name == _ISLAND_STREET else next(mainland_cells) for name, _, _ in _STREETS]


def _relaxed_cells(region: shapely.Geometry, n: int, rng: np.random.Generator) -> list[shapely.Geometry]:
    """`n` cells tiling `region`, from random seeds moved to their cell's centre a few times,
    numbered along a Hilbert curve so neighbours get neighbouring numbers."""
    seeds = _sample_points(region, n, rng)
    for _ in range(LLOYD_ROUNDS):
        seeds = _inner_points(_voronoi_cells(seeds, region))
    cells = _voronoi_cells(seeds, region)
    order = _hilbert_order(_inner_points(cells), region.bounds)
    return [cells[i] for i in order]


def _sample_points(region: shapely.Geometry, n: int, rng: np.random.Generator) -> np.ndarray:
    lon_min, lat_min, lon_max, lat_max = region.bounds
    found: list[np.ndarray] = []
    while sum(len(f) for f in found) < n:
        xy = rng.uniform((lon_min, lat_min), (lon_max, lat_max), size=(4 * n, 2))
        found.append(xy[shapely.contains_xy(region, xy[:, 0], xy[:, 1])])
    return np.concatenate(found)[:n]


def _voronoi_cells(seeds: np.ndarray, region: shapely.Geometry) -> list[shapely.Geometry]:
    diagram = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=region, ordered=True)
    return [_polygonal(cell) for cell in shapely.intersection(shapely.get_parts(diagram), region)]


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Drop the stray points and lines an overlay leaves where a cell only touches the region."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"]
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def _inner_points(cells: list[shapely.Geometry]) -> np.ndarray:
    """Centroids, except where a cell is not convex enough to hold its own."""
    points = shapely.centroid(cells)
    outside = ~shapely.contains(cells, points)
    points[outside] = shapely.point_on_surface(np.asarray(cells, dtype=object)[outside])
    return shapely.get_coordinates(points)


def _hilbert_order(xy: np.ndarray, bounds: tuple[float, float, float, float]) -> list[int]:
    """Indices of the points in the order a Hilbert curve over `bounds` visits them."""
    side = 1 << 16
    lon_min, lat_min, lon_max, lat_max = bounds
    # One scale for both axes keeps the curve's locality in real distances.
    scale = (side - 1) / max(lon_max - lon_min, lat_max - lat_min)
    keys = [_hilbert_index(side, int((x - lon_min) * scale), int((y - lat_min) * scale)) for x, y in xy]
    return sorted(range(len(keys)), key=keys.__getitem__)


def _hilbert_index(side: int, x: int, y: int) -> int:
    index = 0
    s = side // 2
    while s > 0:
        rx = 1 if x & s else 0
        ry = 1 if y & s else 0
        index += s * s * ((3 * rx) ^ ry)
        if ry == 0:
            if rx == 1:
                x, y = side - 1 - x, side - 1 - y
            x, y = y, x
        s //= 2
    return index


def _snap_coverage(cells: list[shapely.Geometry]) -> list[shapely.Geometry]:
    """The cells on the 1e-6 lattice, still an exact tiling.

    Clipping each cell with a fixed precision would round each one on its own, and two
    neighbours from different parents would then disagree along their shared edge by
    pixel-wide slivers. Noding every edge in one pass and rebuilding the faces gives one
    set of edges that all neighbours share.
    """
    edges = shapely.unary_union(shapely.boundary(cells), grid_size=GRID_SIZE)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(edges)))
    # A face belongs to the cell it lies in; the few pixel-sized faces snapping creates
    # at a corner go to whichever neighbour is nearest to their interior point.
    face_idx, cell_idx = shapely.STRtree(cells).query_nearest(shapely.point_on_surface(faces), all_matches=False)
    faces_of_cell: dict[int, list[shapely.Geometry]] = defaultdict(list)
    for face, cell in zip(face_idx.tolist(), cell_idx.tolist(), strict=True):
        faces_of_cell[cell].append(faces[face])
    return [shapely.coverage_union_all(faces_of_cell[i]) for i in range(len(cells))]


def _apportion(weights: list[float], total: int, low: int, high: int | None = None) -> list[int]:
    """`total` split in proportion to `weights` (largest remainder), each share in [low, high]."""
    fixed: dict[int, int] = {}
    while True:
        free = [i for i in range(len(weights)) if i not in fixed]
        left = total - sum(fixed.values())
        free_weight = sum(weights[i] for i in free)
        quota = {i: left * weights[i] / free_weight for i in free}
        too_low = [i for i in free if quota[i] < low]
        too_high = [i for i in free if high is not None and quota[i] > high]
        if not too_low and not too_high:
            break
        # One side at a time: pinning some shares changes what is left for the rest, so
        # their quotas are recomputed before anything else is pinned.
        fixed.update(dict.fromkeys(too_low, low) if too_low else dict.fromkeys(too_high, high))
    shares = {i: int(quota[i]) for i in free}
    spare = left - sum(shares.values())
    for i in sorted(free, key=lambda i: (shares[i] - quota[i], i))[:spare]:
        shares[i] += 1
    shares.update(fixed)
    return [shares[i] for i in range(len(weights))]


def _police(
    streets: list[StreetSpec],
    grid_shapes: dict[str, shapely.Geometry],
    community_of_grid: dict[str, str],
    rng: np.random.Generator,
) -> tuple[PoliceStationSpec, ...]:
    grids_of_street = {s.name: [g.code for c in s.communities for g in c.grids] for s in streets}
    station_grids = [[code for street in covered for code in grids_of_street[street]] for covered in _STATIONS]
    office_counts = _apportion([len(g) for g in station_grids], OFFICE_TOTAL, 1)
    office_grids = [_police_grids(codes, n, grid_shapes) for codes, n in zip(station_grids, office_counts, strict=True)]
    unit_counts = iter(_apportion([len(g) for offices in office_grids for g in offices], EMERGENCY_UNIT_TOTAL, 1))
    roads = _community_roads(streets, rng)
    units_in_community: Counter[str] = Counter()
    unit_serial = 0
    stations = []
    for s_index, (covered, offices) in enumerate(zip(_STATIONS, office_grids, strict=True), 1):
        station_code = f"PS{s_index:02d}"
        office_specs = []
        for o_index, (codes, office_name) in enumerate(
            zip(offices, _office_names(offices, community_of_grid), strict=True), 1
        ):
            n_units = next(unit_counts)
            units = []
            for k in range(n_units):
                # Spread along the office's Hilbert order, so units sit all over its area.
                grid_code = codes[k * len(codes) // n_units]
                community = community_of_grid[grid_code]
                road = _road_name(roads[community], units_in_community[community])
                units_in_community[community] += 1
                unit_serial += 1
                lon, lat = _point_inside(grid_shapes[grid_code], rng)
                units.append(
                    EmergencyUnitSpec(
                        code=f"EU{unit_serial:04d}",
                        name=f"{community}{road}最小应急单元",
                        lon=lon,
                        lat=lat,
                        grid_code=grid_code,
                    )
                )
            office_specs.append(
                PoliceOfficeSpec(
                    code=f"{station_code}-W{o_index:02d}",
                    name=office_name,
                    grid_codes=tuple(sorted(codes)),
                    emergency_units=tuple(units),
                )
            )
        stations.append(
            PoliceStationSpec(
                code=station_code,
                # Named after its first street without the 街/镇: 长洲街 → 长洲派出所.
                name=f"{covered[0][:-1]}派出所",
                offices=tuple(office_specs),
            )
        )
    return tuple(stations)


def _police_grids(codes: list[str], n_offices: int, grid_shapes: dict[str, shapely.Geometry]) -> list[list[str]]:
    """A station's grids cut into `n_offices` connected police grids of nearly equal size,
    each listed in Hilbert order.

    Equal runs along a Hilbert curve are compact, which is most of the job; the two passes
    after it fix what the curve gets wrong.
    """
    points = shapely.get_coordinates(shapely.point_on_surface([grid_shapes[c] for c in codes]))
    ordered = [codes[i] for i in _hilbert_order(points, (*points.min(axis=0), *points.max(axis=0)))]
    ends = np.cumsum(_apportion([1.0] * n_offices, len(ordered), 1))
    office_of = {code: int(np.searchsorted(ends, position, side="right")) for position, code in enumerate(ordered)}
    neighbours = _neighbours(ordered, grid_shapes)
    _join_stray_pieces(office_of, ordered, neighbours)
    _even_out(office_of, ordered, neighbours)
    return [_members(office_of, ordered, office) for office in range(n_offices)]


def _join_stray_pieces(office_of: dict[str, int], ordered: list[str], neighbours: dict[str, set[str]]) -> None:
    """Where the curve leaves an office's area and comes back, the office falls in two;
    the smaller piece joins the smallest office it borders."""
    moved = True
    while moved:
        moved = False
        for office in sorted(set(office_of.values())):
            for piece in sorted(_components(_members(office_of, ordered, office), neighbours), key=len)[:-1]:
                bordering = {office_of[n] for c in piece for n in neighbours[c]} - {office}
                if bordering:
                    size = Counter(office_of.values())
                    office_of.update(dict.fromkeys(piece, min(bordering, key=lambda o: (size[o], o))))
                    moved = True


def _even_out(office_of: dict[str, int], ordered: list[str], neighbours: dict[str, set[str]]) -> None:
    """Move border grids from larger offices to smaller neighbours, one at a time, where
    that leaves the larger office in one piece. Every move shrinks the sum of squared
    sizes, so this ends."""
    moved = True
    while moved:
        moved = False
        size = Counter(office_of.values())
        for code in sorted(ordered, key=lambda c: -size[office_of[c]]):
            donor = office_of[code]
            takers = {office_of[n] for n in neighbours[code] if size[office_of[n]] + 2 <= size[donor]}
            if not takers:
                continue
            rest = [c for c in _members(office_of, ordered, donor) if c != code]
            if len(_components(rest, neighbours)) == 1:
                office_of[code] = min(takers, key=lambda o: (size[o], o))
                moved = True
                break


def _members(office_of: dict[str, int], ordered: list[str], office: int) -> list[str]:
    return [c for c in ordered if office_of[c] == office]


def _neighbours(codes: list[str], grid_shapes: dict[str, shapely.Geometry]) -> dict[str, set[str]]:
    """Grids that share an edge; touching at a corner does not count."""
    geoms = np.array([grid_shapes[c] for c in codes], dtype=object)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = left < right
    left, right = left[pairs], right[pairs]
    shared = shapely.length(shapely.intersection(geoms[left], geoms[right])) > 0
    result: dict[str, set[str]] = {c: set() for c in codes}
    for a, b in zip(left[shared].tolist(), right[shared].tolist(), strict=True):
        result[codes[a]].add(codes[b])
        result[codes[b]].add(codes[a])
    return result


def _components(members: list[str], neighbours: dict[str, set[str]]) -> list[list[str]]:
    unvisited = set(members)
    pieces = []
    for start in members:
        if start not in unvisited:
            continue
        unvisited.remove(start)
        piece = [start]
        frontier = [start]
        while frontier:
            for n in sorted(neighbours[frontier.pop()] & unvisited):
                unvisited.remove(n)
                piece.append(n)
                frontier.append(n)
        pieces.append(piece)
    return pieces


def _office_names(offices: list[list[str]], community_of_grid: dict[str, str]) -> list[str]:
    """An office is named after the community most of its grids are in, numbered when
    several offices share one."""
    main = [Counter(community_of_grid[c] for c in codes).most_common(1)[0][0] for codes in offices]
    sharing = Counter(main)
    seen: Counter[str] = Counter()
    names = []
    for community in main:
        seen[community] += 1
        if sharing[community] == 1:
            names.append(f"{community}警务室")
        else:
            names.append(f"{community}第{_chinese_number(seen[community])}警务室")
    return names


def _community_roads(streets: list[StreetSpec], rng: np.random.Generator) -> dict[str, list[tuple[str, str]]]:
    """A few (stem, kind) roads per community for emergency units to be named after."""
    roads = {}
    for street in streets:
        for community in street.communities:
            stems = rng.choice(_ROAD_STEMS, _ROADS_PER_COMMUNITY, replace=False).tolist()
            kinds = rng.choice(_ROAD_KINDS, _ROADS_PER_COMMUNITY).tolist()
            chosen = list(zip(stems, kinds, strict=True))
            first = _FIRST_ROAD.get(community.name)
            if first is not None:
                chosen = [first, *[r for r in chosen if r[0] != first[0]]][:_ROADS_PER_COMMUNITY]
            roads[community.name] = chosen
    return roads


def _road_name(roads: list[tuple[str, str]], k: int) -> str:
    """The k-th lane of a community: its roads in turn, then their second sections, ...;
    distinct for every k, so unit names never repeat."""
    stem, kind = roads[k % len(roads)]
    return f"{stem}{_chinese_number(k // len(roads) + 1)}{kind}"


def _chinese_number(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return f"{digits[tens] if tens > 1 else ''}十{digits[ones] if ones else ''}"


def _point_inside(geom: shapely.Geometry, rng: np.random.Generator) -> tuple[float, float]:
    """A uniformly random point strictly inside `geom`, already rounded to six decimals so
    the stored coordinates are the ones that were checked."""
    lon_min, lat_min, lon_max, lat_max = geom.bounds
    while True:
        xy = np.round(rng.uniform((lon_min, lat_min), (lon_max, lat_max), size=(16, 2)), 6)
        inside = shapely.contains_properly(geom, shapely.points(xy))
        if inside.any():
            lon, lat = xy[int(np.argmax(inside))]
            return float(lon), float(lat)


def _geojson(geom: shapely.Geometry) -> dict:
    """A GeoJSON geometry with counter-clockwise shells (RFC 7946) and six decimals."""
    geom = shapely.orient_polygons(geom, exterior_cw=False)

    def ring(r: shapely.LinearRing) -> list[list[float]]:
        return [[round(x, 6), round(y, 6)] for x, y in r.coords]

    def polygon(p: shapely.Polygon) -> list[list[list[float]]]:
        return [ring(p.exterior), *(ring(hole) for hole in p.interiors)]

    if geom.geom_type == "Polygon":
        return {"type": "Polygon", "coordinates": polygon(geom)}
    return {"type": "MultiPolygon", "coordinates": [polygon(p) for p in geom.geoms]}
