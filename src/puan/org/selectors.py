"""Reads of the org tree, already scoped to the user asking."""

from __future__ import annotations

from django.db.models import QuerySet

from puan.accounts.scope import scope_for
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
    """The unit's chain from the district down to itself, in one query."""
    paths = unit.ancestor_paths()
    by_path = {u.path: u for u in Unit.objects.filter(path__in=paths)}
    return [by_path[p] for p in paths if p in by_path]


def unit_ids_from_path(path: str) -> list[int]:
    w = PATH_SEGMENT_WIDTH
    return [int(path[i : i + w]) for i in range(0, len(path), w)]


def grid_count() -> int:
    return Unit.objects.filter(level=UnitLevel.GRID, is_active=True).count()
