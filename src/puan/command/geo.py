"""Outlines for the dashboard map: each unit's GeoJSON geometry, simplified for drawing.

A street or community draws its own `boundary` when it has one (the demo district stores
them); otherwise the union of its grids' polygons, computed once. Results are kept per
process and dropped when `GeoVersion` moves (any boundary edit bumps it), checked at most
every few seconds, as the point-in-grid index does.
"""

from __future__ import annotations

import json

import h3
import shapely
from shapely.geometry import mapping, shape

from puan.core.cache import VersionedCopy
from puan.org.geo import current_version
from puan.org.models import Unit, UnitLevel, subtree_q

# About 10 m: invisible on a wall screen, and it cuts a street's outline to a fraction.
SIMPLIFY_DEGREES = 0.0001
DIGITS = 5
VERSION_CHECK_SECONDS = 5.0

# Outlines per unit id, filled as units are drawn; emptied when boundaries change.
_geometries: VersionedCopy[dict[int, dict | None]] = VersionedCopy(
    lambda version: {}, version=current_version, check_seconds=VERSION_CHECK_SECONDS
)
_cells: dict[int, str] = {}


def _rounded(geometry: dict) -> dict:
    def walk(coords):
        if coords and isinstance(coords[0], int | float):
            return [round(coords[0], DIGITS), round(coords[1], DIGITS)]
        return [walk(c) for c in coords]

    return {"type": geometry["type"], "coordinates": walk(geometry["coordinates"])}


def _outline(unit: Unit) -> dict | None:
    boundary = Unit.objects.filter(pk=unit.pk).values_list("boundary", flat=True).first()
    if boundary:
        geom = shape(boundary)
    else:
        grids = Unit.objects.filter(subtree_q(unit.path), level=UnitLevel.GRID, is_active=True, boundary__isnull=False)
        parts = [shape(b) for b in grids.values_list("boundary", flat=True)]
        if not parts:
            return None
        geom = shapely.union_all(parts)
    geom = geom.simplify(SIMPLIFY_DEGREES, preserve_topology=True)
    if geom.is_empty:
        return None
    return _rounded(mapping(geom))


def unit_geometries(units: list[Unit]) -> dict[int, dict | None]:
    """GeoJSON geometry per unit id (None for a unit with nothing to draw)."""
    drawn = _geometries.get()
    for unit in units:
        if unit.pk not in drawn:
            drawn[unit.pk] = _outline(unit)
    return {u.pk: drawn[u.pk] for u in units}


def cell_outline(cell: int) -> list[list[float]]:
    """An h3 cell's hexagon as a closed [lon, lat] ring."""
    points = [[round(lon, DIGITS + 1), round(lat, DIGITS + 1)] for lat, lon in h3.cell_to_boundary(h3.int_to_str(cell))]
    return [*points, points[0]]


def cell_outline_json(cell: int) -> str:
    """`cell_outline` as JSON text, made once per cell and process."""
    text = _cells.get(cell)
    if text is None:
        text = _cells[cell] = json.dumps(cell_outline(cell), separators=(",", ":"))
    return text
