"""Every write to a supervision order. One function per move: permission check,
compare-and-set on the order's version (stale → 409), a timeline event in the same
transaction; issuing and escalating also write an event on every covered case.
Notifications are handed over inside the transaction and delivered after commit."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from puan.accounts.scope import scope_for
from puan.accounts.selectors import require_writer
from puan.cases.models import AssistTask, Case, CaseEvent
from puan.cases.selectors import case_list_visible_to
from puan.core.errors import ConcurrentChange, Conflict, InvalidInput, NotAllowed
from puan.notifications.services import Message, notify
from puan.org.models import Unit, UnitLevel, subtree_q
from puan.supervision.models import (
    ESCALATABLE_STATES,
    KIND_PREFIX,
    KINDS_NEEDING_CASES,
    OrderCounter,
    OrderKind,
    OrderState,
    SupervisionEvent,
    SupervisionOrder,
    SupervisionOrderCase,
)
from puan.supervision.transitions import ORDER_MOVES, Who, actor_relations, is_centre_dispatcher

# Units the centre may address: the levels that have handlers of their own.
ADDRESSABLE_LEVELS = (UnitLevel.STREET, UnitLevel.COMMUNITY, UnitLevel.DEPARTMENT)
MAX_CASES_PER_ORDER = 200
# One sweep escalates at most this many orders; the rest wait five minutes for the next.
ESCALATION_BATCH = 1000

STATE_TIMESTAMP = {
    OrderState.ACKNOWLEDGED: "acknowledged_at",
    OrderState.ESCALATED: "escalated_at",
    OrderState.RESPONDED: "responded_at",
    OrderState.CLOSED: "closed_at",
}


def _kind_label(kind: str) -> str:
    return OrderKind(kind).label


# --- codes ----------------------------------------------------------------------------


def next_order_code(kind: str, now: datetime) -> str:
    """ "DB2026-0001": kind prefix, local year, a number counted per prefix and year.

    The counter row's update takes a row lock held until commit, so two issuers never
    draw the same number; the first issue of a year creates the row, and an issuer that
    loses that race simply updates the row the winner created."""
    prefix = KIND_PREFIX[kind]
    year = timezone.localtime(now).year
    counters = OrderCounter.objects.filter(prefix=prefix, year=year)
    if not counters.update(last=F("last") + 1):
        try:
            with transaction.atomic():
                OrderCounter.objects.create(prefix=prefix, year=year, last=1)
        except IntegrityError:
            counters.update(last=F("last") + 1)
    number = counters.values_list("last", flat=True).get()
    return f"{prefix}{year}-{number:04d}"


# --- case timelines -------------------------------------------------------------------


def _write_case_events(
    order: SupervisionOrder, case_ids: list[int], *, kind: str, actor, now: datetime, note: str
) -> None:
    """Append one event to each covered case's timeline and bump its version, keeping the
    case invariant "events are seq 1..version". The cases are locked first (in id order,
    so two writers never deadlock); under the lock the version read is the version
    written, and one UPDATE bumps them all."""
    if not case_ids:
        return
    cases = list(
        Case.objects.select_for_update().filter(pk__in=case_ids).order_by("pk").only("pk", "version", "state", "tier")
    )
    Case.objects.filter(pk__in=[c.pk for c in cases]).update(version=F("version") + 1, updated_at=now)
    data = {
        "order": order.pk,
        "code": order.code,
        "order_kind": order.kind,
        "unit": order.unit_id,
        "deadline": order.deadline.isoformat() if order.deadline else None,
    }
    CaseEvent.objects.bulk_create(
        [
            CaseEvent.build(
                case_id=case.pk,
                seq=case.version + 1,
                kind=kind,
                from_state=case.state,
                to_state=case.state,
                actor=actor,
                actor_unit_id=actor.unit_id if actor is not None else None,
                tier=case.tier,
                note=note,
                data=data,
                now=now,
            )
            for case in cases
        ]
    )


# --- issue ----------------------------------------------------------------------------


def _addressable_unit(actor, unit_id: int) -> Unit:
    unit = Unit.objects.defer("boundary").filter(pk=unit_id, is_active=True).select_related("head").first()
    if unit is None or not scope_for(actor).covers_path(unit.path):
        raise InvalidInput("受文单位不存在。", field="unit_id")
    if unit.level not in ADDRESSABLE_LEVELS:
        raise InvalidInput("督查督办只能下发给街道/镇、社区/村或职能部门。", field="unit_id")
    return unit


def _belongs_to_unit_q(unit: Unit) -> Q:
    """Cases a unit answers for: in or owned by its subtree; for a department, the cases
    it leads or assists on."""
    if unit.level == UnitLevel.DEPARTMENT:
        assisted = AssistTask.objects.filter(department=unit).values("case_id")
        return Q(lead_department=unit) | Q(pk__in=assisted)
    return subtree_q(unit.path, "area_path") | subtree_q(unit.path, "owner_path")


def _covered_cases(actor, unit: Unit, kind: str, case_ids: list[int]) -> list[int]:
    ids = sorted(set(case_ids))
    if len(ids) > MAX_CASES_PER_ORDER:
        raise InvalidInput(f"一次最多涉及{MAX_CASES_PER_ORDER}件案件。", field="case_ids")
    if not ids and kind in KINDS_NEEDING_CASES:
        raise InvalidInput(f"{_kind_label(kind)}须选择至少一件案件。", field="case_ids")
    if not ids:
        return []
    visible = set(case_list_visible_to(user=actor).filter(pk__in=ids).values_list("pk", flat=True))
    missing = [i for i in ids if i not in visible]
    if missing:
        raise InvalidInput(f"案件不存在或无权查看：{', '.join(map(str, missing))}。", field="case_ids")
    related = set(Case.objects.filter(_belongs_to_unit_q(unit), pk__in=ids).values_list("pk", flat=True))
    strangers = [i for i in ids if i not in related]
    if strangers:
        codes = Case.objects.filter(pk__in=strangers).order_by("pk").values_list("tracking_code", flat=True)
        raise InvalidInput(f"案件不属于{unit.name}：{', '.join(codes)}。", field="case_ids")
    return ids


@transaction.atomic
def order_issue(
    *,
    actor,
    kind: str,
    unit_id: int,
    title: str,
    instructions: str = "",
    case_ids: list[int] | tuple[int, ...] = (),
    deadline: datetime | None = None,
    response_required: bool = True,
    meeting_at: datetime | None = None,
    meeting_place: str = "",
    now: datetime | None = None,
) -> SupervisionOrder:
    """The centre issues an order to a unit about zero or more cases it can see."""
    now = now or timezone.now()
    require_writer(actor)
    if not is_centre_dispatcher(actor):
        raise NotAllowed("只有区指挥中心调度员可以下发督查督办。")
    if kind not in OrderKind.values:
        raise InvalidInput("督办类型无效。", field="kind")
    title = title.strip()
    if not title:
        raise InvalidInput("请填写标题。", field="title")
    if len(title) > 200:
        raise InvalidInput("标题不能超过200字。", field="title")
    if len(instructions) > 4000:
        raise InvalidInput("工作要求不能超过4000字。", field="instructions")
    if not response_required and kind != OrderKind.NOTICE:
        raise InvalidInput("只有通报可以不要求反馈。", field="response_required")
    if response_required and deadline is None:
        raise InvalidInput("请设定办理时限。", field="deadline")
    if deadline is not None and deadline <= now:
        raise InvalidInput("办理时限须晚于当前时间。", field="deadline")
    if kind != OrderKind.INTERVIEW and (meeting_at is not None or meeting_place.strip()):
        raise InvalidInput("只有约谈可以设定约谈时间和地点。", field="meeting_at")
    if meeting_at is not None and meeting_at <= now:
        raise InvalidInput("约谈时间须晚于当前时间。", field="meeting_at")
    unit = _addressable_unit(actor, unit_id)
    ids = _covered_cases(actor, unit, kind, list(case_ids))

    order = SupervisionOrder.objects.create(
        kind=kind,
        code=next_order_code(kind, now),
        unit=unit,
        issued_by=actor,
        issuing_unit_id=actor.unit_id,
        title=title,
        instructions=instructions.strip(),
        deadline=deadline,
        response_required=response_required,
        meeting_at=meeting_at,
        meeting_place=meeting_place.strip()[:200],
        state=OrderState.ISSUED,
        version=1,
        issued_at=now,
    )
    SupervisionOrderCase.objects.bulk_create([SupervisionOrderCase(order=order, case_id=i) for i in ids])
    _event(
        order,
        seq=1,
        kind="issue",
        from_state="",
        to_state=OrderState.ISSUED,
        actor=actor,
        now=now,
        note=order.instructions,
        data={"cases": ids, "deadline": deadline.isoformat() if deadline else None, "unit": unit.pk},
    )
    label = _kind_label(kind)
    _write_case_events(
        order, ids, kind="supervision_issued", actor=actor, now=now, note=f"区指挥中心{label}（{order.code}）：{title}"
    )
    deadline_text = f"，请于{timezone.localtime(deadline):%Y年%m月%d日 %H:%M}前反馈" if deadline else ""
    notify(
        Message(
            kind="supervision_issued",
            title=f"{label}：{title}",
            body=f"区指挥中心向{unit.name}下发{label}（{order.code}）{deadline_text}。",
            order_id=order.pk,
            unit_id=unit.pk,
            data={"code": order.code, "order_kind": kind},
            # An interview summons the head in person: worth a text message.
            sms=kind == OrderKind.INTERVIEW,
        )
    )
    return order


def _event(order, *, actor, **step) -> SupervisionEvent:
    """One step of the order's timeline, with the unit the actor acted for."""
    return SupervisionEvent.record(
        order=order, actor=actor, actor_unit_id=actor.unit_id if actor is not None else None, **step
    )


# --- moves ----------------------------------------------------------------------------


def check_order_move(order: SupervisionOrder, actor, action: str) -> None:
    """Raise unless `actor` may make `action` on `order` now. The caller fetched the order
    through the scoped selector, so an order the actor may not see is a 404 before this."""
    move = ORDER_MOVES[action]
    relations = actor_relations(order, actor)
    if move.who not in relations:
        if move.who == Who.CENTRE:
            raise NotAllowed(f"只有区指挥中心调度员可以{move.label}。")
        raise NotAllowed(f"只有{order.unit.name}的工作人员或负责人可以{move.label}。")
    if order.state not in move.allowed_from(order):
        raise Conflict(f"督办当前状态为“{OrderState(order.state).label}”，不能{move.label}。", code="wrong_state")


def _commit(
    order: SupervisionOrder,
    *,
    actor,
    action: str,
    version: int,
    now: datetime,
    changes: dict | None = None,
    note: str = "",
    data: dict | None = None,
) -> SupervisionOrder:
    """Compare-and-set the order at `version`, then write its timeline event."""
    move = ORDER_MOVES[action]
    if move.needs_note and not note.strip():
        raise InvalidInput(f"{move.label}须填写意见。", field="note")
    if version != order.version:
        raise ConcurrentChange()
    updates = {"state": move.target, **(changes or {})}
    if move.target in STATE_TIMESTAMP:
        updates.setdefault(STATE_TIMESTAMP[move.target], now)
    updated = SupervisionOrder.objects.filter(pk=order.pk, version=version).update(
        version=F("version") + 1, updated_at=now, **updates
    )
    if updated != 1:
        raise ConcurrentChange()
    _event(
        order,
        seq=version + 1,
        kind=action,
        from_state=order.state,
        to_state=move.target,
        actor=actor,
        now=now,
        note=note.strip(),
        data=data,
    )
    order.refresh_from_db()
    return order


@transaction.atomic
def order_acknowledge(*, order: SupervisionOrder, actor, version: int, note: str = "") -> SupervisionOrder:
    check_order_move(order, actor, "acknowledge")
    return _commit(order, actor=actor, action="acknowledge", version=version, now=timezone.now(), note=note)


@transaction.atomic
def order_respond(*, order: SupervisionOrder, actor, version: int, response: str) -> SupervisionOrder:
    check_order_move(order, actor, "respond")
    response = response.strip()
    if not response:
        raise InvalidInput("请填写反馈内容。", field="response")
    if len(response) > 4000:
        raise InvalidInput("反馈内容不能超过4000字。", field="response")
    now = timezone.now()
    changes = {"response": response, "responded_by": actor}
    if order.acknowledged_at is None:
        changes["acknowledged_at"] = now
    order = _commit(order, actor=actor, action="respond", version=version, now=now, changes=changes, note=response)
    notify(
        Message(
            kind="supervision_responded",
            title=f"{order.unit.name}已反馈{_kind_label(order.kind)}：{order.title}",
            body=response[:200],
            order_id=order.pk,
            user_ids=(order.issued_by_id,),
            data={"code": order.code},
        )
    )
    return order


@transaction.atomic
def order_close(*, order: SupervisionOrder, actor, version: int, note: str = "") -> SupervisionOrder:
    """The centre accepts the response (or, for a notice that needs none, files it)."""
    check_order_move(order, actor, "close")
    order = _commit(
        order,
        actor=actor,
        action="close",
        version=version,
        now=timezone.now(),
        changes={"closing_note": note.strip()[:2000]},
        note=note,
    )
    notify(
        Message(
            kind="supervision_closed",
            title=f"{_kind_label(order.kind)}已办结：{order.title}",
            body=note.strip()[:200],
            order_id=order.pk,
            unit_id=order.unit_id,
            data={"code": order.code},
        )
    )
    return order


@transaction.atomic
def order_return(
    *, order: SupervisionOrder, actor, version: int, note: str, deadline: datetime | None = None
) -> SupervisionOrder:
    """The centre sends the response back for rework: the order is issued again, to be
    signed for and answered anew. A deadline already past needs a new one, or the sweep
    would escalate the rework the moment it is returned."""
    check_order_move(order, actor, "return")
    now = timezone.now()
    if deadline is not None and deadline <= now:
        raise InvalidInput("新的办理时限须晚于当前时间。", field="deadline")
    if deadline is None and order.deadline is not None and order.deadline <= now:
        raise InvalidInput("原办理时限已过，退回重办须设定新的办理时限。", field="deadline")
    changes = {
        "returned_at": now,
        "return_note": note.strip()[:2000],
        "return_count": F("return_count") + 1,
        "acknowledged_at": None,
    }
    if deadline is not None:
        changes["deadline"] = deadline
    due = deadline or order.deadline
    order = _commit(
        order,
        actor=actor,
        action="return",
        version=version,
        now=now,
        changes=changes,
        note=note,
        data={"deadline": due.isoformat() if due else None},
    )
    notify(
        Message(
            kind="supervision_returned",
            title=f"{_kind_label(order.kind)}反馈被退回：{order.title}",
            body=note.strip()[:200],
            order_id=order.pk,
            unit_id=order.unit_id,
            data={"code": order.code},
        )
    )
    return order


# --- escalation -----------------------------------------------------------------------


def orders_escalate_overdue(*, now: datetime | None = None) -> int:
    """Escalate every order past its deadline without a response; answer how many.

    Called by the deadline sweep and by the five-minute task. Each order is claimed with
    a compare-and-set on its version and state, in a transaction of its own: two sweeps
    running at once escalate an order once, and one order failing does not undo others."""
    now = now or timezone.now()
    due = list(
        SupervisionOrder.objects.filter(state__in=ESCALATABLE_STATES, response_required=True, deadline__lt=now)
        .order_by("deadline", "pk")
        .values_list("pk", "version", "state")[:ESCALATION_BATCH]
    )
    escalated = 0
    for pk, version, state in due:
        if _escalate_one(pk, version=version, state=state, now=now):
            escalated += 1
    return escalated


@transaction.atomic
def _escalate_one(pk: int, *, version: int, state: str, now: datetime) -> bool:
    claimed = SupervisionOrder.objects.filter(
        pk=pk, version=version, state__in=ESCALATABLE_STATES, deadline__lt=now
    ).update(state=OrderState.ESCALATED, escalated_at=now, version=F("version") + 1, updated_at=now)
    if claimed != 1:
        return False  # answered, or another sweep got there first
    order = SupervisionOrder.objects.select_related("unit", "unit__head").get(pk=pk)
    label = _kind_label(order.kind)
    deadline = timezone.localtime(order.deadline)
    _event(
        order,
        seq=version + 1,
        kind="escalate",
        from_state=state,
        to_state=OrderState.ESCALATED,
        actor=None,
        now=now,
        note=f"超过办理时限（{deadline:%Y-%m-%d %H:%M}）未反馈，已提请单位负责人督办。",
        data={"deadline": order.deadline.isoformat()},
    )
    case_ids = list(order.order_cases.order_by("case_id").values_list("case_id", flat=True))
    _write_case_events(
        order,
        case_ids,
        kind="supervision_escalated",
        actor=None,
        now=now,
        note=f"{label}（{order.code}）超期未反馈，已升级至{order.unit.name}负责人。",
    )
    head = order.unit.head
    # Nobody heads the unit: the unit above it is answerable for it.
    has_head = head is not None and head.is_active
    recipients = {"user_ids": (head.pk,)} if has_head else {"unit_id": order.unit.parent_id}
    notify(
        Message(
            kind="supervision_escalated",
            title=f"{label}超期未反馈：{order.title}",
            body=(
                f"{order.unit.name}收到的{label}（{order.code}）已超过办理时限"
                f"（{deadline:%m月%d日 %H:%M}），请督促尽快反馈。"
            ),
            order_id=order.pk,
            data={"code": order.code, "unit": order.unit_id},
            sms=True,
            **recipients,
        )
    )
    return True
