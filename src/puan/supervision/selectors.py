"""Reads of supervision orders, already scoped to the user asking.

The centre sees every order (its scope is the whole district); a unit sees the orders
addressed to it or to units below it; a department sees those addressed to it; a unit's
head sees the orders addressed to the unit they head. Anything else is a 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from puan.accounts.scope import scope_for
from puan.cases.models import OPEN_STATES, Case, past_due_q
from puan.cases.selectors import case_list_visible_to
from puan.core.errors import InvalidInput, NotVisible
from puan.org.models import Unit, UnitLevel, subtree_q
from puan.supervision.models import OPEN_ORDER_STATES, SupervisionOrder, SupervisionOrderCase


def _visible_q(user) -> Q:
    q = scope_for(user).q(path="unit__path", department="unit_id")
    if getattr(user, "is_authenticated", False):
        q |= Q(unit__head_id=user.pk)
    return q


def order_list_visible_to(*, user) -> QuerySet[SupervisionOrder]:
    return SupervisionOrder.objects.filter(_visible_q(user))


def order_get_visible(*, user, order_id: int) -> SupervisionOrder:
    order = (
        order_list_visible_to(user=user)
        .select_related("unit", "issuing_unit", "issued_by", "responded_by")
        .filter(pk=order_id)
        .first()
    )
    if order is None:
        raise NotVisible("督办不存在或无权查看。")
    return order


def overdue_q(now: datetime) -> Q:
    """Orders that owe a response and are past their deadline (escalated or not yet)."""
    return Q(state__in=OPEN_ORDER_STATES, response_required=True, deadline__lt=now)


@dataclass
class OrderFilters:
    kind: str | None = None
    state: list[str] | None = None
    unit: int | None = None
    overdue: bool | None = None


def order_page(
    *, user, filters: OrderFilters, limit: int, offset: int, now: datetime | None = None
) -> tuple[list[SupervisionOrder], int]:
    """A page of the orders the user may see, newest first, and how many match in all."""
    now = now or timezone.now()
    orders = order_list_visible_to(user=user)
    if filters.kind:
        orders = orders.filter(kind=filters.kind)
    if filters.state:
        orders = orders.filter(state__in=filters.state)
    if filters.unit is not None:
        unit = Unit.objects.filter(pk=filters.unit).only("path").first()
        if unit is None:
            raise InvalidInput("单位不存在。", field="unit")
        orders = orders.filter(subtree_q(unit.path, "unit__path"))
    if filters.overdue is True:
        orders = orders.filter(overdue_q(now))
    elif filters.overdue is False:
        orders = orders.exclude(overdue_q(now))
    total = orders.count()
    rows = list(
        orders.select_related("unit", "issuing_unit", "issued_by")
        .annotate(case_count=Count("order_cases"))
        .order_by("-issued_at", "-pk")[offset : offset + limit]
    )
    return rows, total


def order_case_list(order: SupervisionOrder) -> QuerySet[Case]:
    return Case.objects.filter(pk__in=order.order_cases.values("case_id")).select_related("owner_unit").order_by("pk")


def unit_visible_or_404(*, user, unit_id: int) -> Unit:
    """A unit inside the user's unit-wide scope, or their own department; else 404."""
    scope = scope_for(user)
    unit = Unit.objects.defer("boundary").filter(pk=unit_id, is_active=True).first()
    if unit is None or not (scope.covers_path(unit.path) or unit.pk in scope.department_ids):
        raise NotVisible("单位不存在或无权查看。")
    return unit


def overdue_cases_for_unit(*, user, unit_id: int, now: datetime | None = None) -> QuerySet[Case]:
    """Open cases past their deadline that a unit answers for — what the centre picks from
    when it issues an order to that unit. Cases already under an open order are marked
    (`under_supervision`), most overdue first."""
    now = now or timezone.now()
    unit = unit_visible_or_404(user=user, unit_id=unit_id)
    if unit.level == UnitLevel.DEPARTMENT:
        belongs = Q(lead_department=unit)
    else:
        belongs = subtree_q(unit.path, "area_path") | subtree_q(unit.path, "owner_path")
    supervised = SupervisionOrderCase.objects.filter(case=OuterRef("pk"), order__state__in=OPEN_ORDER_STATES)
    return (
        case_list_visible_to(user=user)
        .filter(belongs, state__in=OPEN_STATES)
        .filter(Q(is_overdue=True) | past_due_q(now))
        .annotate(under_supervision=Exists(supervised))
        .select_related("owner_unit")
        .order_by("resolve_due_at", "pk")
    )
