from __future__ import annotations

from ninja import Field as F
from ninja import Query, Router

from puan.core.schema import Schema
from puan.org.geo import locate
from puan.org.models import Unit, UnitLevel
from puan.org.schemas import LocateOut, UnitDetailOut, UnitPage
from puan.org.selectors import unit_ancestors, unit_get_visible, unit_list_visible_to

router = Router(tags=["org"])


def unit_out(unit: Unit) -> dict:
    return {
        "id": unit.pk,
        "code": unit.code,
        "name": unit.name,
        "level": unit.level,
        "kind": unit.kind,
        "parent_id": unit.parent_id,
        "stationing": unit.stationing,
        "centroid": list(unit.centroid) if unit.centroid else None,
    }


class UnitFilters(Schema):
    parent: int | None = F(None, description="Only the children of this unit")
    level: UnitLevel | None = F(None, description="Only units of this level")
    limit: int = F(200, ge=1, le=1000, description="Page size")
    offset: int = F(0, ge=0, description="Rows to skip")


@router.get("", response=UnitPage, summary="Units visible to me")
def unit_list(request, filters: Query[UnitFilters]):
    units = unit_list_visible_to(user=request.user, parent_id=filters.parent, level=filters.level).defer("boundary")
    page = units[filters.offset : filters.offset + filters.limit]
    return {"items": [unit_out(u) for u in page], "count": units.count()}


class LocateQuery(Schema):
    lon: float = F(..., ge=-180, le=180, description="Longitude (WGS-84)")
    lat: float = F(..., ge=-90, le=90, description="Latitude (WGS-84)")


@router.get("/locate", response=LocateOut, summary="Resolve a point to its grid, community, street, district")
def unit_locate(request, point: Query[LocateQuery]):
    hit = locate(point.lon, point.lat)
    if hit is None:
        return {"inside": False}
    grid = Unit.objects.defer("boundary").get(pk=hit.grid_id)
    chain = {u.level: unit_out(u) for u in unit_ancestors(grid)}
    return {"inside": True, **{level: chain.get(level) for level in ("grid", "community", "street", "district")}}


@router.get("/{unit_id}", response=UnitDetailOut, summary="One unit (404 outside my scope)")
def unit_detail(request, unit_id: int):
    unit = unit_get_visible(user=request.user, unit_id=unit_id)
    return {
        **unit_out(unit),
        "path": [u.name for u in unit_ancestors(unit)],
        "children": unit.children.filter(is_active=True).count(),
        "boundary": unit.boundary,
    }
