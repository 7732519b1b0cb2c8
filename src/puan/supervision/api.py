"""Supervision orders under /api/v1/supervision and the monthly bulletin under
/api/v1/reports. Errors: 404 not visible, 403 not allowed, 409 wrong state or stale
version (`code` says which), 422 bad input (`field` says where)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from urllib.parse import quote

from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from ninja import Field as F
from ninja import Query, Router

from puan.cases.models import OPEN_STATES
from puan.core.errors import InvalidInput
from puan.core.idempotency import run_once
from puan.core.schema import Schema
from puan.supervision import services as svc
from puan.supervision.bulletin import bulletin_data, bulletin_filename, bulletin_pdf, bulletin_xlsx, parse_month
from puan.supervision.models import OPEN_ORDER_STATES, OrderKind, OrderState, SupervisionOrder
from puan.supervision.schemas import (
    KIND_HELP,
    OrderAction,
    OrderActionIn,
    OrderDetail,
    OrderIn,
    OrderKindEnum,
    OrderPage,
    OrderStateEnum,
    OverdueCaseList,
)
from puan.supervision.selectors import (
    OrderFilters,
    order_case_list,
    order_get_visible,
    order_page,
    overdue_cases_for_unit,
    unit_visible_or_404,
)
from puan.supervision.transitions import allowed_actions

router = Router(tags=["supervision"])
reports_router = Router(tags=["reports"])


def _unit(u) -> dict:
    return {"id": u.pk, "name": u.name}


def _name(user) -> str | None:
    return (user.display_name or user.username) if user is not None else None


def _is_overdue(order: SupervisionOrder, now: datetime) -> bool:
    return (
        order.response_required
        and order.state in OPEN_ORDER_STATES
        and order.deadline is not None
        and order.deadline < now
    )


def order_item(order: SupervisionOrder, *, now: datetime, case_count: int | None = None) -> dict:
    return {
        "id": order.pk,
        "code": order.code,
        "kind": order.kind,
        "kind_label": OrderKind(order.kind).label,
        "title": order.title,
        "unit": _unit(order.unit),
        "issuing_unit": _unit(order.issuing_unit),
        "issued_by": _name(order.issued_by),
        "state": order.state,
        "state_label": OrderState(order.state).label,
        "deadline": order.deadline,
        "response_required": order.response_required,
        "is_overdue": _is_overdue(order, now),
        "case_count": case_count if case_count is not None else order.case_count,
        "issued_at": order.issued_at,
        "escalated_at": order.escalated_at,
        "responded_at": order.responded_at,
        "closed_at": order.closed_at,
        "version": order.version,
    }


def _case_out(case, now: datetime) -> dict:
    return {
        "id": case.pk,
        "tracking_code": case.tracking_code,
        "title": case.title,
        "state": case.state,
        "owner_unit": _unit(case.owner_unit),
        "resolve_due_at": case.resolve_due_at,
        "is_overdue": case.state in OPEN_STATES and (case.is_overdue or case.past_due(now)),
    }


def order_detail(order: SupervisionOrder, user) -> dict:
    now = timezone.now()
    cases = list(order_case_list(order))
    events = order.events.select_related("actor", "actor_unit").order_by("seq")
    return {
        **order_item(order, now=now, case_count=len(cases)),
        "instructions": order.instructions,
        "meeting_at": order.meeting_at,
        "meeting_place": order.meeting_place,
        "response": order.response,
        "responded_by": _name(order.responded_by),
        "return_note": order.return_note,
        "return_count": order.return_count,
        "closing_note": order.closing_note,
        "acknowledged_at": order.acknowledged_at,
        "returned_at": order.returned_at,
        "cases": [_case_out(c, now) for c in cases],
        "allowed_actions": allowed_actions(order, user),
        "timeline": [e.as_row() for e in events],
    }


@router.post("/orders", response={201: OrderDetail}, summary="Issue a supervision order (centre dispatchers)")
def order_create(request, payload: OrderIn):
    """核查 / 督办 / 催办 / 约谈 / 通报, addressed to one unit about the cases given (each must be
    visible to the issuer and belong to the unit). Send an `Idempotency-Key` header so a
    retry answers with the first order instead of issuing a second."""

    def work() -> SupervisionOrder:
        return svc.order_issue(
            actor=request.user,
            kind=payload.kind,
            unit_id=payload.unit_id,
            title=payload.title,
            instructions=payload.instructions,
            case_ids=payload.case_ids,
            deadline=payload.deadline,
            response_required=payload.response_required,
            meeting_at=payload.meeting_at,
            meeting_place=payload.meeting_place,
        )

    def answer(order: SupervisionOrder) -> tuple[int, dict]:
        order = order_get_visible(user=request.user, order_id=order.pk)
        return 201, OrderDetail.model_validate(order_detail(order, request.user)).model_dump(mode="json")

    return run_once(
        key=request.headers.get("Idempotency-Key"),
        user=request.user,
        scope="supervision_order_create",
        payload=payload,
        work=work,
        answer=answer,
    )


class OrderListQuery(Schema):
    kind: OrderKindEnum | None = F(None, description=KIND_HELP)
    state: list[OrderStateEnum] | None = F(None, description="One or more states")
    unit: int | None = F(None, description="Orders addressed to this unit or to units below it")
    overdue: bool | None = F(None, description="true: past the deadline without a response; false: the others")


@router.get("/orders", response=OrderPage, summary="Supervision orders I may see, newest first")
def order_list(
    request, filters: Query[OrderListQuery], limit: int = Query(50, ge=1, le=200), offset: int = Query(0, ge=0)
):
    now = timezone.now()
    rows, total = order_page(
        user=request.user,
        filters=OrderFilters(
            kind=filters.kind,
            state=[str(s) for s in filters.state] if filters.state else None,
            unit=filters.unit,
            overdue=filters.overdue,
        ),
        limit=limit,
        offset=offset,
        now=now,
    )
    return {"items": [order_item(o, now=now) for o in rows], "count": total}


@router.get("/orders/{order_id}", response=OrderDetail, summary="One supervision order with its cases and timeline")
def order_get(request, order_id: int):
    return order_detail(order_get_visible(user=request.user, order_id=order_id), request.user)


def _required(value: str | None, field: str, message: str) -> str:
    if value is None or not value.strip():
        raise InvalidInput(message, field=field)
    return value


ACTIONS = {
    OrderAction.ACKNOWLEDGE: lambda o, u, p: svc.order_acknowledge(order=o, actor=u, version=p.version, note=p.note),
    OrderAction.RESPOND: lambda o, u, p: svc.order_respond(
        order=o, actor=u, version=p.version, response=_required(p.response, "response", "请填写反馈内容。")
    ),
    OrderAction.CLOSE: lambda o, u, p: svc.order_close(order=o, actor=u, version=p.version, note=p.note),
    OrderAction.RETURN: lambda o, u, p: svc.order_return(
        order=o, actor=u, version=p.version, note=p.note, deadline=p.deadline
    ),
}


@router.post("/orders/{order_id}/actions/{action}", response=OrderDetail, summary="Make a move on a supervision order")
def order_action(request, order_id: int, action: OrderAction, payload: OrderActionIn):
    """acknowledge (签收) and respond (反馈): the addressed unit's handlers or head; close (办结)
    and return (退回重办, with a note): centre dispatchers. Every move takes the `version`
    the caller saw."""
    with transaction.atomic():
        order = order_get_visible(user=request.user, order_id=order_id)
        order = ACTIONS[action](order, request.user, payload)
        return order_detail(order_get_visible(user=request.user, order_id=order.pk), request.user)


@router.get("/overdue-cases", response=OverdueCaseList, summary="Overdue cases of a unit, to supervise")
def overdue_case_list(
    request,
    unit: int = Query(..., description="The unit (street, community or department)"),
    limit: int = Query(100, ge=1, le=500),
):
    """Open cases past their deadline that the unit answers for, most overdue first;
    `under_supervision` marks those already covered by an open order."""
    now = timezone.now()
    cases = overdue_cases_for_unit(user=request.user, unit_id=unit, now=now)
    rows = list(cases[:limit])
    return {
        "items": [
            {**_case_out(c, now), "risk": c.risk, "tier": c.tier, "under_supervision": c.under_supervision}
            for c in rows
        ],
        "count": cases.count(),
    }


# --- reports --------------------------------------------------------------------------


class BulletinFormat(StrEnum):
    PDF = "pdf"
    XLSX = "xlsx"


CONTENT_TYPES = {
    BulletinFormat.PDF: "application/pdf",
    BulletinFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def content_disposition(filename: str, fallback: str) -> str:
    """An ASCII name for old clients plus the real (Chinese) one per RFC 5987/6266."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


class BulletinQuery(Schema):
    month: str = F(..., description="The month, YYYY-MM")
    unit: int | None = F(None, description="The unit; defaults to the caller's own unit")
    format: BulletinFormat = F(BulletinFormat.PDF, description="pdf | xlsx")


@reports_router.get("/bulletin", response={200: None}, summary="Monthly bulletin (月度通报) of a unit as PDF or Excel")
def bulletin(request, query: Query[BulletinQuery]):
    """Cases received and resolved, completion and on-time rates, the overdue list, a
    breakdown per child unit and the supervision orders of the month, for a unit the
    caller may see (404 otherwise). The file name is Chinese (RFC 5987 `filename*`)."""
    first_day = parse_month(query.month)
    unit_id = query.unit if query.unit is not None else request.user.unit_id
    if unit_id is None:
        raise InvalidInput("请选择单位。", field="unit")
    target = unit_visible_or_404(user=request.user, unit_id=unit_id)
    data = bulletin_data(unit=target, month=first_day)
    body = bulletin_pdf(data) if query.format == BulletinFormat.PDF else bulletin_xlsx(data)
    response = HttpResponse(body, content_type=CONTENT_TYPES[query.format])
    extension = str(query.format)
    response["Content-Disposition"] = content_disposition(
        bulletin_filename(data, extension), f"bulletin-{data.unit_id}-{data.month:%Y-%m}.{extension}"
    )
    response["Cache-Control"] = "private, no-store"
    return response
