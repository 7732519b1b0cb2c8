"""Point-in-grid lookup.

One STRtree over every active grid's boundary, built once per process and rebuilt when
`GeoVersion` moves (any boundary import or edit bumps it in the same transaction).
A point on an edge shared by two grids belongs to the grid with the smaller id, so the
answer never depends on the order the tree returns candidates in.

Batches go through the tree. A single point (one report) is cheaper without it: making a
shapely point and walking the tree cost more than the test itself, and on a request's cold
caches far more. A table of cells over the grids' bounding boxes gives the few candidates,
and a plain crossing test over their rings decides, except within a hair of an edge, where
GEOS does (the same `intersects` as the tree's). Tests hold the two paths to each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import shape

from puan.core.cache import VersionedCopy
from puan.org.models import GeoVersion, Unit, UnitLevel

# Closer than this to an edge (in degrees, about a tenth of a millimetre), the crossing
# test defers to GEOS.
EDGE_MARGIN = 1e-9

# How long a process trusts its index before asking the database whether boundaries
# changed. Edits are rare; a lookup per case must not cost a query.
VERSION_CHECK_SECONDS = 2.0


@dataclass(frozen=True)
class GridHit:
    grid_id: int
    grid_code: str
    grid_name: str
    path: str


class GridIndex:
    def __init__(self, grids: list[tuple[int, str, str, str, dict]]):
        # Sorted by id: the smallest tree index among several hits is the smallest id.
        grids = sorted(grids, key=lambda g: g[0])
        self.hits = [GridHit(g[0], g[1], g[2], g[3]) for g in grids]
        self.geometries = np.array([shape(g[4]) for g in grids], dtype=object)
        shapely.prepare(self.geometries)
        self.tree = shapely.STRtree(self.geometries)
        self._rings = [_rings(g) for g in self.geometries]
        self._cells, self._origin, self._cell_size = _cell_table(shapely.bounds(self.geometries).reshape(-1, 4))

    def __len__(self) -> int:
        return len(self.hits)

    def locate(self, lon: float, lat: float) -> GridHit | None:
        """The grid containing one point. A cell lists its candidates by ascending
        position, so the first that contains the point has the smallest id."""
        if not (math.isfinite(lon) and math.isfinite(lat)):
            return None
        x0, y0 = self._origin
        cell = (math.floor((lon - x0) / self._cell_size), math.floor((lat - y0) / self._cell_size))
        for position, minx, miny, maxx, maxy in self._cells.get(cell, ()):
            if not (minx <= lon <= maxx and miny <= lat <= maxy):
                continue
            inside = _inside_rings(self._rings[position], lon, lat)
            if inside is None:  # on an edge, or too near one to trust the arithmetic
                inside = bool(shapely.intersects_xy(self.geometries[position], lon, lat))
            if inside:
                return self.hits[position]
        return None

    def locate_many(self, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
        """Tree positions (into `self.hits`) for each point, -1 where it is outside."""
        points = shapely.points(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float))
        point_idx, tree_idx = self.tree.query(points, predicate="intersects")
        result = np.full(len(points), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(result, point_idx, tree_idx)
        result[result == np.iinfo(np.int64).max] = -1
        return result


def _rings(geometry) -> list[list[tuple[float, float]]] | None:
    """Every ring of a polygon or multipolygon as plain coordinates (None for any other
    kind of geometry, which GEOS then decides on its own)."""
    if geometry.geom_type == "Polygon":
        parts = [geometry]
    elif geometry.geom_type == "MultiPolygon":
        parts = list(geometry.geoms)
    else:
        return None
    return [list(ring.coords) for part in parts for ring in (part.exterior, *part.interiors)]


def _inside_rings(rings: list[list[tuple[float, float]]] | None, x: float, y: float) -> bool | None:
    """Even-odd crossing test over all rings: True inside, False outside, None when the
    point lies within EDGE_MARGIN of an edge (or the geometry is not a polygon)."""
    if rings is None:
        return None
    inside = False
    margin = EDGE_MARGIN
    for ring in rings:
        x1, y1 = ring[-1]
        for x2, y2 in ring:
            if min(x1, x2) - margin <= x <= max(x1, x2) + margin and min(y1, y2) - margin <= y <= max(y1, y2) + margin:
                dx, dy = x2 - x1, y2 - y1
                length2 = dx * dx + dy * dy
                t = 0.0 if length2 == 0 else min(1.0, max(0.0, ((x - x1) * dx + (y - y1) * dy) / length2))
                if (x - x1 - t * dx) ** 2 + (y - y1 - t * dy) ** 2 <= margin * margin:
                    return None
            if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
                inside = not inside
            x1, y1 = x2, y2
    return inside


def _cell_table(bounds: np.ndarray) -> tuple[dict[tuple[int, int], tuple], tuple[float, float], float]:
    """Cells of about a typical grid's size, each listing (position, bounding box) of the
    grids whose box reaches into it, by ascending position."""
    finite = bounds[np.isfinite(bounds).all(axis=1)]
    if len(finite) == 0:
        return {}, (0.0, 0.0), 1.0
    sizes = np.concatenate([finite[:, 2] - finite[:, 0], finite[:, 3] - finite[:, 1]])
    cell_size = float(np.median(sizes[sizes > 0])) if (sizes > 0).any() else 1.0
    x0, y0 = float(finite[:, 0].min()), float(finite[:, 1].min())
    cells: dict[tuple[int, int], list] = {}
    for position, (minx, miny, maxx, maxy) in enumerate(bounds.tolist()):
        if not all(map(math.isfinite, (minx, miny, maxx, maxy))):
            continue  # an empty geometry contains nothing
        entry = (position, minx, miny, maxx, maxy)
        for cx in range(math.floor((minx - x0) / cell_size), math.floor((maxx - x0) / cell_size) + 1):
            for cy in range(math.floor((miny - y0) / cell_size), math.floor((maxy - y0) / cell_size) + 1):
                cells.setdefault((cx, cy), []).append(entry)
    return {cell: tuple(entries) for cell, entries in cells.items()}, (x0, y0), cell_size


def current_version() -> int:
    row = GeoVersion.objects.filter(pk=1).values_list("version", flat=True).first()
    return row or 0


def build_index() -> GridIndex:
    rows = Unit.objects.filter(level=UnitLevel.GRID, is_active=True, boundary__isnull=False).values_list(
        "id", "code", "name", "path", "boundary"
    )
    return GridIndex(list(rows))


# Rebuilt whenever GeoVersion moves (the version itself is the copy's to keep).
_index = VersionedCopy(lambda version: build_index(), version=current_version, check_seconds=VERSION_CHECK_SECONDS)


def grid_index() -> GridIndex:
    """The process's index, rebuilt if boundaries changed since it was built."""
    return _index.get()


def invalidate() -> None:
    """Forget the cached index (this process); others notice through GeoVersion."""
    _index.invalidate()


def locate(lon: float, lat: float) -> GridHit | None:
    """The grid containing the point, or None when it is outside the district."""
    return grid_index().locate(lon, lat)
