"""Builders for supervision tests: overdue cases and orders issued by the centre."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from puan.accounts.roles import Role
from puan.accounts.tests.factories import make_user
from puan.cases.models import Case, CaseEvent
from puan.cases.tests.helpers import intake
from puan.org.models import Unit
from puan.supervision import services
from puan.supervision.models import SupervisionOrder


def case_in(people, grid: Unit, *, actor=None, **changes) -> Case:
    """A case registered by unit (no coordinates, so never linked as a duplicate), with
    any columns overwritten afterwards (timestamps, state, deadline)."""
    case = intake(actor or people.dispatcher, lon_lat=None, unit_id=grid.pk, channel="hotline").case
    if changes:
        Case.objects.filter(pk=case.pk).update(**changes)
        case.refresh_from_db()
    return case


def overdue_case(people, grid: Unit, *, hours_late: int = 5) -> Case:
    return case_in(people, grid, resolve_due_at=timezone.now() - timedelta(hours=hours_late), is_overdue=True)


def issue(
    people,
    unit: Unit,
    cases: list[Case] = (),
    *,
    kind: str = "supervision",
    deadline: datetime | None = None,
    actor=None,
    **extra,
) -> SupervisionOrder:
    if deadline is None and extra.get("response_required", True):
        deadline = timezone.now() + timedelta(days=3)
    return services.order_issue(
        actor=actor or people.dispatcher,
        kind=kind,
        unit_id=unit.pk,
        title=extra.pop("title", "限期办结超期案件"),
        instructions=extra.pop("instructions", "请于时限内办结并反馈办理情况。"),
        case_ids=[c.pk for c in cases],
        deadline=deadline,
        **extra,
    )


def make_head(unit: Unit, *roles: str, username: str | None = None):
    head = make_user(*(roles or (Role.UNIT_HANDLER,)), unit=unit, username=username)
    Unit.objects.filter(pk=unit.pk).update(head=head)
    return head


def assert_order_timeline_whole(order: SupervisionOrder) -> None:
    order.refresh_from_db()
    assert list(order.events.order_by("seq").values_list("seq", flat=True)) == list(range(1, order.version + 1))


def assert_case_timeline_whole(case: Case) -> None:
    case.refresh_from_db()
    seqs = list(CaseEvent.objects.filter(case=case).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, case.version + 1))
