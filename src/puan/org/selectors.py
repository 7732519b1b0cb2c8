"""Reads of the org tree, already scoped to the user asking."""

from __future__ import annotations

from django.db.models import QuerySet

from puan.accounts.scope import scope_for
from puan.core.cache import TimedCopy
from puan.core.errors import NotVisible
from puan.org.models import PATH_SEGMENT_WIDTH, Unit, UnitLevel


def unit_list_visible_to(*, user, parent_id: int | None = None, level: str | None = None) -> QuerySet[Unit]:
    """Units the user may see: their own unit and, for unit-wide roles, everything below it."""
    scope = scope_for(user)
    units = Unit.objects.filter(is_active=True).filter(_unit_scope_q(user, scope))
    if parent_id is not None:
        units = units.filter(parent_id=parent_id)
    if level:
        units = units.filter(level=level)
    return units.order_by("path")


def _unit_scope_q(user, scope):
    q = scope.q(path="path")
    if user.unit_id is not None:
        # Everyone may see the unit they belong to (a department, a volunteer's grid).
        q |= type(q)(pk=user.unit_id)
    return q


def unit_get_visible(*, user, unit_id: int) -> Unit:
    unit = unit_list_visible_to(user=user).filter(pk=unit_id).first()
    if unit is None:
        raise NotVisible("单位不存在或无权查看。")
    return unit


def unit_ancestors(unit: Unit) -> list[Unit]:
    """The unit's chain from the district down to itself, in one query (without outlines)."""
    paths = unit.ancestor_paths()
    by_path = {u.path: u for u in Unit.objects.defer("boundary").filter(path__in=paths)}
    return [by_path[p] for p in paths if p in by_path]


def unit_ids_from_path(path: str) -> list[int]:
    w = PATH_SEGMENT_WIDTH
    return [int(path[i : i + w]) for i in range(0, len(path), w)]


def grid_count() -> int:
    return Unit.objects.filter(level=UnitLevel.GRID, is_active=True).count()


# --- the administrative units above the grids, for services -----------------------------
# Read on every intake and escalation (the owner unit at a tier, the community and street of
# a case): each process keeps the district, streets and communities for a minute.


def _load_area_units() -> dict[str, Unit]:
    levels = (UnitLevel.DISTRICT, UnitLevel.STREET, UnitLevel.COMMUNITY)
    return {u.path: u for u in Unit.objects.defer("boundary").filter(level__in=levels)}


_area_units = TimedCopy(_load_area_units, depends_on=["org.Unit"])


def area_units_invalidate() -> None:
    """For writes that send no signals (a subtree's paths rewritten by `update`)."""
    _area_units.invalidate()


def area_units(area_path: str) -> dict[str, Unit]:
    """The district, street and community above a place (by path), read from the process's
    copy; a unit the copy does not know yet (created a moment ago) is read from the database."""
    w = PATH_SEGMENT_WIDTH
    paths = [area_path[:end] for end in range(w, min(len(area_path), 3 * w) + 1, w)]
    known = _area_units.get()
    found = {p: known[p] for p in paths if p in known}
    missing = [p for p in paths if p not in found]
    if missing:
        found |= {u.path: u for u in Unit.objects.defer("boundary").filter(path__in=missing)}
    return found
