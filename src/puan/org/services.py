"""Every write to the org tree."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import shapely
from django.db import transaction
from django.db.models import F
from shapely.geometry import mapping, shape
from shapely.validation import explain_validity

from puan.core.errors import InvalidInput
from puan.org import geo
from puan.org.models import (
    GeoVersion,
    Stationing,
    Unit,
    UnitKind,
    UnitLevel,
    path_segment,
    subtree_q,
)
from puan.org.selectors import area_units_invalidate

# Overlaps smaller than this (in square degrees, about 1 m² at this latitude) are
# floating-point noise along shared edges, not real overlaps.
OVERLAP_TOLERANCE = 1e-10
# A grid may poke out of the district outline by at most this much (same unit).
OUTSIDE_TOLERANCE = 1e-10

_CHILD_LEVEL = {
    UnitLevel.DISTRICT: {UnitLevel.STREET, UnitLevel.DEPARTMENT},
    UnitLevel.STREET: {UnitLevel.COMMUNITY},
    UnitLevel.COMMUNITY: {UnitLevel.GRID},
    UnitLevel.GRID: set(),
    UnitLevel.DEPARTMENT: set(),
}
_DEFAULT_KIND = {
    UnitLevel.DISTRICT: UnitKind.DISTRICT,
    UnitLevel.STREET: UnitKind.STREET,
    UnitLevel.COMMUNITY: UnitKind.COMMUNITY,
    UnitLevel.GRID: UnitKind.GRID,
    UnitLevel.DEPARTMENT: UnitKind.DEPARTMENT,
}


def _check_parent(level: str, parent: Unit | None) -> None:
    if level == UnitLevel.DISTRICT:
        if parent is not None:
            raise InvalidInput("区级单位不能有上级单位。", field="parent")
        return
    if parent is None:
        raise InvalidInput("请选择上级单位。", field="parent")
    if level not in _CHILD_LEVEL[UnitLevel(parent.level)]:
        raise InvalidInput(f"“{UnitLevel(level).label}”不能设在“{UnitLevel(parent.level).label}”之下。", field="parent")


def _centroid(boundary: dict | None) -> tuple[float | None, float | None]:
    if not boundary:
        return None, None
    point = shape(boundary).representative_point()
    return round(point.x, 6), round(point.y, 6)


@transaction.atomic
def unit_create(
    *,
    code: str,
    name: str,
    level: str,
    parent: Unit | None,
    kind: str = "",
    stationing: str = "",
    boundary: dict | None = None,
    sort_order: int = 0,
) -> Unit:
    _check_parent(level, parent)
    if level == UnitLevel.DEPARTMENT and stationing not in Stationing.values:
        raise InvalidInput("请选择入驻方式（常驻、轮驻或随驻）。", field="stationing")
    if Unit.objects.filter(code=code).exists():
        raise InvalidInput(f"编码 {code} 已被使用。", field="code")
    lon, lat = _centroid(boundary)
    unit = Unit.objects.create(
        code=code,
        name=name,
        level=level,
        kind=kind or _DEFAULT_KIND[UnitLevel(level)],
        parent=parent,
        # The real path needs the primary key; a unique placeholder holds the slot.
        path=f"new-{uuid.uuid4().hex}",
        depth=(parent.depth + 1) if parent else 1,
        stationing=stationing if level == UnitLevel.DEPARTMENT else "",
        boundary=boundary,
        centroid_lon=lon,
        centroid_lat=lat,
        sort_order=sort_order,
    )
    unit.path = (parent.path if parent else "") + path_segment(unit.pk)
    Unit.objects.filter(pk=unit.pk).update(path=unit.path)
    if level == UnitLevel.GRID and boundary:
        geoversion_bump()
    return unit


def units_create_bulk(*, rows: list[dict[str, Any]], parent_by_code: dict[str, Unit]) -> list[Unit]:
    """Create many units of one level in two statements (used by loaders).

    Each row has code, name, level, parent_code and optionally kind, stationing, boundary.
    Must run inside a transaction; the caller bumps GeoVersion once at the end.
    """
    units = []
    for row in rows:
        parent = parent_by_code[row["parent_code"]] if row.get("parent_code") else None
        _check_parent(row["level"], parent)
        lon, lat = _centroid(row.get("boundary"))
        units.append(
            Unit(
                code=row["code"],
                name=row["name"],
                level=row["level"],
                kind=row.get("kind") or _DEFAULT_KIND[UnitLevel(row["level"])],
                parent=parent,
                path=f"new-{uuid.uuid4().hex}",
                depth=(parent.depth + 1) if parent else 1,
                stationing=row.get("stationing", ""),
                boundary=row.get("boundary"),
                centroid_lon=lon,
                centroid_lat=lat,
                sort_order=row.get("sort_order", 0),
            )
        )
    created = Unit.objects.bulk_create(units, batch_size=500)
    for unit in created:
        unit.path = (unit.parent.path if unit.parent else "") + path_segment(unit.pk)
    Unit.objects.bulk_update(created, ["path"], batch_size=500)
    return created


@transaction.atomic
def unit_move(*, unit: Unit, new_parent: Unit) -> Unit:
    """Re-parent a unit and rewrite the paths of its whole subtree."""
    _check_parent(unit.level, new_parent)
    if new_parent.path.startswith(unit.path):
        raise InvalidInput("不能把单位移到它自己的下级之下。", field="parent")
    old_path = unit.path
    new_path = new_parent.path + path_segment(unit.pk)
    depth_delta = new_parent.depth + 1 - unit.depth
    subtree = list(Unit.objects.filter(subtree_q(old_path)).select_for_update())
    for node in subtree:
        node.path = new_path + node.path[len(old_path) :]
        node.depth += depth_delta
    # Two passes keep the unique index on path satisfied while paths swap around.
    for node in subtree:
        Unit.objects.filter(pk=node.pk).update(path=f"mv-{uuid.uuid4().hex}")
    Unit.objects.bulk_update(subtree, ["path", "depth"])
    Unit.objects.filter(pk=unit.pk).update(parent=new_parent)
    geoversion_bump()
    transaction.on_commit(area_units_invalidate)  # the updates above send no signals
    unit.refresh_from_db()
    return unit


def geoversion_bump() -> None:
    """Mark boundaries as changed; every process's grid index rebuilds on next use."""
    GeoVersion.objects.get_or_create(pk=1)
    GeoVersion.objects.filter(pk=1).update(version=F("version") + 1)
    transaction.on_commit(geo.invalidate)


# --- grid import ----------------------------------------------------------------------


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)


class GridImportError(InvalidInput):
    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("网格边界导入失败：\n" + "\n".join(errors), field="features")


def _feature_label(index: int, props: dict) -> str:
    code = props.get("code")
    name = props.get("name")
    label = f"第 {index + 1} 个要素"
    if code or name:
        label += f"（{code or ''}{' ' if code and name else ''}{name or ''}）"
    return label


def _parse_feature(index: int, feature: Any, errors: list[str]) -> tuple[dict, Any] | None:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        errors.append(f"第 {index + 1} 个要素不是 GeoJSON Feature。")
        return None
    props = feature.get("properties") or {}
    label = _feature_label(index, props)
    for key in ("code", "name", "community"):
        if not isinstance(props.get(key), str) or not props.get(key).strip():
            errors.append(f"{label}：缺少属性 {key}。")
            return None
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict) or geometry.get("type") not in {"Polygon", "MultiPolygon"}:
        errors.append(f"{label}：几何类型必须是 Polygon 或 MultiPolygon。")
        return None
    try:
        geom = shape(geometry)
    except (ValueError, TypeError, AttributeError, IndexError, shapely.errors.GEOSException) as exc:
        errors.append(f"{label}：坐标无法解析（{exc}）。")
        return None
    if geom.is_empty:
        errors.append(f"{label}：多边形为空。")
        return None
    if not geom.is_valid:
        errors.append(f"{label}：多边形无效（{explain_validity(geom)}）。")
        return None
    if geom.area <= 0:
        errors.append(f"{label}：多边形面积为零。")
        return None
    return props, geom


def grids_import(*, feature_collection: Any) -> ImportReport:
    """Create or update grid boundaries from a GeoJSON FeatureCollection.

    Each feature: properties {code, name, community (the community's unit code)} and a
    Polygon/MultiPolygon. All or nothing: any invalid, overlapping or outside-the-district
    polygon rejects the whole file with a message per feature.
    """
    errors: list[str] = []
    if not isinstance(feature_collection, dict) or feature_collection.get("type") != "FeatureCollection":
        raise GridImportError(["文件不是 GeoJSON FeatureCollection。"])
    features = feature_collection.get("features")
    if not isinstance(features, list) or not features:
        raise GridImportError(["FeatureCollection 中没有要素。"])

    parsed: list[tuple[int, dict, Any]] = []
    seen_codes: dict[str, int] = {}
    for i, feature in enumerate(features):
        result = _parse_feature(i, feature, errors)
        if result is None:
            continue
        props, geom = result
        code = props["code"].strip()
        if code in seen_codes:
            errors.append(f"{_feature_label(i, props)}：编码与第 {seen_codes[code] + 1} 个要素重复。")
            continue
        seen_codes[code] = i
        parsed.append((i, props, geom))

    communities = {
        u.code: u
        for u in Unit.objects.filter(level=UnitLevel.COMMUNITY, code__in={p["community"].strip() for _, p, _ in parsed})
    }
    existing = {u.code: u for u in Unit.objects.filter(level=UnitLevel.GRID)}
    for code, i in seen_codes.items():
        other = Unit.objects.filter(code=code).exclude(level=UnitLevel.GRID).first()
        if other is not None:
            errors.append(f"{_feature_label(i, parsed_props(parsed, i))}：编码已被非网格单位“{other.name}”使用。")
    for i, props, _ in parsed:
        if props["community"].strip() not in communities:
            errors.append(f"{_feature_label(i, props)}：找不到社区/村 {props['community']}。")

    district = Unit.objects.filter(level=UnitLevel.DISTRICT).first()
    if district is None:
        raise GridImportError(["尚未建立区级单位，无法导入网格。"])
    if district.boundary:
        outline = shape(district.boundary)
        for i, props, geom in parsed:
            outside = shapely.difference(geom, outline).area
            if outside > OUTSIDE_TOLERANCE:
                errors.append(f"{_feature_label(i, props)}：有部分位于{district.name}辖区之外。")

    # Overlaps among the new features and with existing grids they do not replace.
    labels = [_feature_label(i, p) for i, p, _ in parsed]
    geoms = [g for _, _, g in parsed]
    kept = [u for code, u in existing.items() if code not in seen_codes and u.boundary and u.is_active]
    labels += [f"已有网格（{u.code} {u.name}）" for u in kept]
    geoms += [shape(u.boundary) for u in kept]
    if geoms:
        tree = shapely.STRtree(geoms)
        left, right = tree.query(geoms, predicate="intersects")
        for a, b in zip(left.tolist(), right.tolist(), strict=True):
            if a >= b or a >= len(parsed):
                continue
            if shapely.intersection(geoms[a], geoms[b]).area > OVERLAP_TOLERANCE:
                errors.append(f"{labels[a]}：与{labels[b]}重叠。")

    if errors:
        raise GridImportError(errors)

    report = ImportReport()
    with transaction.atomic():
        new_rows = []
        for _, props, geom in parsed:
            code = props["code"].strip()
            boundary = mapping(geom)
            boundary = {"type": boundary["type"], "coordinates": _listify(boundary["coordinates"])}
            community = communities[props["community"].strip()]
            unit = existing.get(code)
            if unit is None:
                new_rows.append(
                    {
                        "code": code,
                        "name": props["name"].strip(),
                        "level": UnitLevel.GRID,
                        "parent_code": community.code,
                        "boundary": boundary,
                    }
                )
                continue
            lon, lat = _centroid(boundary)
            Unit.objects.filter(pk=unit.pk).update(
                name=props["name"].strip(), boundary=boundary, centroid_lon=lon, centroid_lat=lat, is_active=True
            )
            if unit.parent_id != community.pk:
                unit_move(unit=unit, new_parent=community)
            report.updated += 1
        units_create_bulk(rows=new_rows, parent_by_code=communities)
        report.created = len(new_rows)
        geoversion_bump()
    return report


def parsed_props(parsed: list[tuple[int, dict, Any]], index: int) -> dict:
    return next((p for i, p, _ in parsed if i == index), {})


def _listify(coords: Any) -> Any:
    if isinstance(coords, (list, tuple)):
        return [_listify(c) for c in coords]
    return coords
