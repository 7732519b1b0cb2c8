"""Point-in-grid lookup.

One STRtree over every active grid's boundary, built once per process and rebuilt when
`GeoVersion` moves (any boundary import or edit bumps it in the same transaction).
A point on an edge shared by two grids belongs to the grid with the smaller id, so the
answer never depends on the order the tree returns candidates in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import shape

from puan.core.cache import VersionedCopy
from puan.org.models import GeoVersion, Unit, UnitLevel

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

    def __len__(self) -> int:
        return len(self.hits)

    def locate(self, lon: float, lat: float) -> GridHit | None:
        found = self.tree.query(shapely.Point(lon, lat), predicate="intersects")
        if len(found) == 0:
            return None
        return self.hits[int(found.min())]

    def locate_many(self, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
        """Tree positions (into `self.hits`) for each point, -1 where it is outside."""
        points = shapely.points(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float))
        point_idx, tree_idx = self.tree.query(points, predicate="intersects")
        result = np.full(len(points), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(result, point_idx, tree_idx)
        result[result == np.iinfo(np.int64).max] = -1
        return result


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
