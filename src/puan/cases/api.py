from __future__ import annotations

import contextlib
import json
from collections.abc import Collection
from datetime import datetime
from typing import Annotated

from django.db import transaction
from django.http import FileResponse, HttpResponse
from ninja import Field as F
from ninja import File, Query, Router
from ninja.files import UploadedFile

from puan.accounts.scope import scope_for
from puan.accounts.selectors import can_see_personal_data
from puan.accounts.services import pii_access_record
from puan.cases import services as svc
from puan.cases.attachments import attachment_upload
from puan.cases.models import AssistTask, Attachment, Case, CaseEvent, CaseParty
from puan.cases.schemas import (
    Action,
    ActionIn,
    AttachmentOut,
    CaseDetail,
    CaseIn,
    CasePage,
    ChannelEnum,
    IntakeOut,
    KindEnum,
    QueueOut,
    RiskEnum,
    StateEnum,
)
from puan.cases.selectors import (
    CaseFilters,
    case_get_visible,
    case_list_visible_to,
    case_page,
    case_personal_values,
    case_queue,
)
from puan.cases.transitions import allowed_actions
from puan.core.errors import InvalidInput, NotAllowed, NotVisible
from puan.core.idempotency import run_once
from puan.core.pii import mask_id_number, mask_phone, scrub
from puan.core.rendering import ApiJSONEncoder
from puan.core.schema import Schema
from puan.core.statements import PreparedRead
from puan.core.uploads import max_upload_bytes
from puan.sla import services as sla

router = Router(tags=["cases"])


def _unit(u) -> dict | None:
    return {"id": u.pk, "name": u.name} if u is not None else None


def case_item(case: Case) -> dict:
    return {
        "id": case.pk,
        "tracking_code": case.tracking_code,
        "kind": case.kind,
        "channel": case.channel,
        "category": case.category.code,
        "category_name": case.category.name,
        "title": case.title,
        "state": case.state,
        "risk": case.risk,
        "lane": case.lane,
        "tier": case.tier,
        "owner_unit": _unit(case.owner_unit),
        "lead_department": _unit(case.lead_department),
        "created_at": case.created_at,
        "resolve_due_at": case.resolve_due_at,
        "version": case.version,
    }


def case_detail(
    case: Case,
    user,
    *,
    reveal: bool = False,
    known_empty: Collection[str] = (),
    events: list[CaseEvent] | None = None,
    parties: list[CaseParty] | None = None,
) -> dict:
    """The full case as the user may see it; personal data masked unless revealed (audited).

    `known_empty` names collections ("assists", "attachments") the caller knows
    the case has none of, such as a case intake has just opened: their queries are skipped.
    `events` and `parties`, when the caller has just written the whole timeline (with actor
    and actor unit attached) or all the parties, stand in for reading them back.
    """
    if reveal and not can_see_personal_data(user):
        raise NotAllowed("当前角色无权查看完整个人信息。")
    if parties is None:
        parties = [CaseParty(**row) for row in _parties_read(case.pk)]
    if reveal and (case.reporter_phone or case.reporter_id_number or parties):
        pii_access_record(viewer=user, subject_type="case", subject_id=case.pk, fields=["reporter", "parties"])
    shown = (lambda v, mask: v) if reveal else (lambda v, mask: mask(v) if v else "")
    # Plain rows with the joined names, not model instances: instances would load the
    # whole department and actor unit (boundary GeoJSON included) and decrypt every actor's
    # phone and ID number, for one name each.
    assists = [] if "assists" in known_empty else _assists_read(case.pk)
    attachments = [] if "attachments" in known_empty else [Attachment(**row) for row in _attachments_read(case.pk)]
    timeline = [e.as_row() for e in events] if events is not None else _timeline_read(case)
    outcome = case.outcome
    if _reporter_only(user):
        # Someone who sees the case only as its reporter (a volunteer) learns its progress,
        # as a citizen does: not the other people it names, not the staff's notes and
        # names, nor what other reporters said; the outcome scrubbed of personal data.
        outcome = scrub(case.outcome, case_personal_values(case))
        parties = []
        timeline = [{**step, "actor": None, "note": "", "data": {}} for step in timeline]
    return {
        **case_item(case),
        "description": case.description,
        "lon": case.lon,
        "lat": case.lat,
        "address": case.address,
        "grid": _unit(case.grid),
        "community": _unit(case.community),
        "street": _unit(case.street),
        "risk_reasons": case.risk_reasons,
        "risk_facts": case.risk_facts,
        "risk_override": case.risk_override,
        "respond_due_at": case.respond_due_at,
        "observed_at": case.observed_at,
        "report_count": case.report_count,
        "handled_on_spot": case.handled_on_spot,
        "outcome": outcome,
        "satisfaction": case.satisfaction,
        "reporter_name": case.reporter_name,
        "reporter_phone": shown(case.reporter_phone, mask_phone),
        "reporter_id_number": shown(case.reporter_id_number, mask_id_number),
        "parties": [
            {
                "role": p.role,
                "name": p.name,
                "phone": shown(p.phone, mask_phone),
                "id_number": shown(p.id_number, mask_id_number),
            }
            for p in parties
        ],
        "assists": [
            {
                "id": a["id"],
                "department": {"id": a["department_id"], "name": a["department__name"]},
                "task": a["task"],
                "status": a["status"],
                "note": a["note"],
                "created_at": a["created_at"],
                "closed_at": a["closed_at"],
            }
            for a in assists
        ],
        "attachments": [attachment_out(a) for a in attachments],
        "allowed_actions": _allowed_actions(case, user, assists),
        "timeline": timeline,
        "revealed": reveal,
        **_clock(case),
    }


def _allowed_actions(case: Case, user, assists: list[dict]) -> list[str]:
    """The moves the transition table allows this user now, less the clock moves the
    clock's state rules out (read only when the table offers one)."""
    actions = allowed_actions(
        case, user, assist_departments={a["department_id"] for a in assists if a["status"] == "open"}
    )
    if sla.CLOCK_MOVES.intersection(actions):
        ruled_out = sla.clock_moves_ruled_out(case, user)
        actions = [action for action in actions if action not in ruled_out]
    return actions


def _reporter_only(user) -> bool:
    """Whether the user sees cases only as their reporter (no unit or department scope)."""
    scope = scope_for(user)
    return not scope.unit_paths and not scope.department_ids


def _rows_of_case(model, *names: str, order: str = "pk") -> PreparedRead:
    """A case's rows of `model` in `order`, as dicts of `names`: compiled once."""
    return PreparedRead(lambda case_id: model.objects.filter(case_id=case_id).order_by(order).values(*names))


# The case page's collections, read on every `GET /cases/{id}` and every linked report.
_parties_read = _rows_of_case(CaseParty, "role", "name", "phone", "id_number")
_assists_read = _rows_of_case(
    AssistTask, "id", "department_id", "department__name", "task", "status", "note", "created_at", "closed_at"
)
_attachments_read = _rows_of_case(Attachment, "id", "original_name", "content_type", "size")
_events_read = _rows_of_case(
    CaseEvent,
    "seq",
    "kind",
    "from_state",
    "to_state",
    "actor__display_name",
    "actor__username",
    "actor_unit__name",
    "tier",
    "note",
    "data",
    "at",
    order="seq",
)


def _timeline_read(case: Case) -> list[dict]:
    events = _events_read(case.pk)
    return [
        {
            "seq": e["seq"],
            "kind": e["kind"],
            "from_state": e["from_state"],
            "to_state": e["to_state"],
            # No username: no actor (the system), or the account is gone.
            "actor": (e["actor__display_name"] or e["actor__username"]) if e["actor__username"] else None,
            "actor_unit": e["actor_unit__name"],
            "tier": e["tier"],
            "note": e["note"],
            "data": e["data"],
            "at": e["at"],
        }
        for e in events
    ]


def _clock(case: Case) -> dict:
    clock = sla.case_clock(case)
    return {
        "remaining_seconds": clock.remaining_seconds,
        "sla_light": clock.light,
        "is_overdue": case.is_overdue,
        "suspended": case.suspended_at is not None,
        "extended": case.extended,
    }


def attachment_out(a: Attachment) -> dict:
    return {
        "id": a.pk,
        "name": a.original_name,
        "content_type": a.content_type,
        "size": a.size,
        "url": f"/api/v1/attachments/{a.pk}",
    }


@router.post("/cases", response={200: IntakeOut, 201: IntakeOut}, summary="Report a case (intake)")
def case_create(request, payload: CaseIn):
    """Takes a report in once. Send an `Idempotency-Key` header so a retry returns the first
    answer. A report of the same category within 100 m and 72 h of an open case joins that
    case: the answer is 200 with `linked: true` instead of 201."""
    data = svc.IntakeInput(
        kind=payload.kind,
        channel=payload.channel,
        category_code=payload.category,
        title=payload.title,
        description=payload.description,
        lon=payload.lon,
        lat=payload.lat,
        address=payload.address,
        unit_id=payload.unit_id,
        facts=payload.facts.model_dump(exclude_none=True),
        reporter_name=payload.reporter_name,
        reporter_phone=payload.reporter_phone,
        reporter_id_number=payload.reporter_id_number,
        parties=[
            svc.PartyInput(role=p.role, name=p.name, phone=p.phone, id_number=p.id_number) for p in payload.parties
        ],
        handled_on_spot=payload.handled_on_spot,
        outcome=payload.outcome,
        evidence_ids=payload.evidence_ids,
        observed_at=payload.observed_at,
    )

    def answer(result: svc.IntakeResult) -> tuple[int, dict]:
        if result.linked:
            # The report joined a case somebody else reported: its reporter learns that it
            # did and the case's tracking code (as a citizen would), but reads the case
            # only within their scope. The case comes with its category and units.
            detail = case_detail(result.case, request.user) if _still_visible(request.user, result.case) else None
        else:
            # A case intake has just opened has no assist tasks, and attachments only when
            # the report brought some: skip the queries that can only come back empty. Its
            # timeline and parties are the ones intake has just written.
            known_empty = {"assists"} if data.evidence_ids else {"assists", "attachments"}
            detail = case_detail(
                result.case, request.user, known_empty=known_empty, events=result.events, parties=result.parties
            )
        # The detail is the one `GET /cases/{id}` validates against CaseDetail; written out
        # here without a second pass through the schema (tests hold the two to each other).
        return (200 if result.linked else 201), {
            "linked": result.linked,
            "earlier_reports": result.similar_earlier,
            "tracking_code": result.case.tracking_code,
            "case": detail,
        }

    status, body = run_once(
        key=request.headers.get("Idempotency-Key"),
        user=request.user,
        scope="case_create",
        payload=payload,
        prepare=lambda: svc.intake_prepare(actor=request.user, data=data),
        work=svc.intake_commit,
        answer=answer,
    )
    # Written with the API's own encoder, without a second validation against IntakeOut.
    return HttpResponse(
        json.dumps(body, cls=ApiJSONEncoder), status=status, content_type="application/json; charset=utf-8"
    )


class ListQuery(Schema):
    state: list[StateEnum] | None = F(None, description="One or more states")
    risk: list[RiskEnum] | None = F(None, description="red / orange / yellow")
    tier: list[Annotated[int, F(ge=1, le=3)]] | None = F(None, description="1 community, 2 street, 3 district")
    unit: int | None = F(None, description="Cases located in or owned by this unit or below")
    category: str | None = F(None, description="Category or item-group code")
    kind: KindEnum | None = None
    channel: ChannelEnum | None = None
    created_from: datetime | None = F(None, description="Created at or after (ISO 8601)")
    created_to: datetime | None = F(None, description="Created before (ISO 8601)")
    text: str | None = F(None, max_length=100, description="Search title, description, address, tracking code")


def _filters(q: ListQuery) -> CaseFilters:
    return CaseFilters(
        state=[str(s) for s in q.state] if q.state else None,
        risk=[str(r) for r in q.risk] if q.risk else None,
        tier=q.tier,
        unit=q.unit,
        category=q.category,
        kind=q.kind,
        channel=q.channel,
        created_from=q.created_from,
        created_to=q.created_to,
        text=q.text,
    )


@router.get("/cases", response=CasePage, summary="Cases I may see, newest first")
def case_list(request, filters: Query[ListQuery], cursor: str | None = None, limit: int = Query(50, ge=1, le=200)):
    rows, next_cursor = case_page(user=request.user, filters=_filters(filters), cursor=cursor, limit=limit)
    return {"items": [case_item(c) for c in rows], "next_cursor": next_cursor}


@router.get("/cases/queue", response=QueueOut, summary="My queue: what my scope must act on")
def case_queue_view(
    request, filters: Query[ListQuery], limit: int = Query(50, ge=1, le=200), offset: int = Query(0, ge=0)
):
    rows, counts, total = case_queue(user=request.user, filters=_filters(filters), limit=limit, offset=offset)
    return {"items": [case_item(c) for c in rows], "counts": counts, "total": total}


@router.get("/cases/{case_id}", response=CaseDetail, summary="One case with its timeline")
def case_get(request, case_id: int, reveal: bool = False):
    # A plain read takes no transaction, which on SQLite would queue behind the writers; an
    # unmasked read and its audit record stand or fall together.
    with transaction.atomic() if reveal else contextlib.nullcontext():
        return case_detail(case_get_visible(user=request.user, case_id=case_id), request.user, reveal=reveal)


def _require(value, field: str, message: str):
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidInput(message, field=field)
    return value


ACTIONS = {
    Action.ACCEPT: lambda c, u, p: svc.case_accept(case=c, actor=u, version=p.version, note=p.note),
    Action.REJECT: lambda c, u, p: svc.case_reject(case=c, actor=u, version=p.version, note=p.note),
    Action.TRIAGE: lambda c, u, p: svc.case_triage(
        case=c,
        actor=u,
        version=p.version,
        category_code=p.category,
        lane=p.lane,
        facts=p.facts.model_dump(exclude_none=True) if p.facts else None,
        note=p.note,
    ),
    Action.ASSIGN: lambda c, u, p: svc.case_assign(
        case=c,
        actor=u,
        version=p.version,
        lead_department_id=p.lead_department_id,
        assists=[(a.department_id, a.task) for a in p.assists or []],
        note=p.note,
    ),
    Action.START: lambda c, u, p: svc.case_start(case=c, actor=u, version=p.version, note=p.note),
    Action.ESCALATE: lambda c, u, p: svc.case_escalate(case=c, actor=u, version=p.version, note=p.note),
    Action.RETURN: lambda c, u, p: svc.case_return(case=c, actor=u, version=p.version, note=p.note),
    Action.RESOLVE: lambda c, u, p: svc.case_resolve(
        case=c,
        actor=u,
        version=p.version,
        outcome=_require(p.outcome, "outcome", "请填写办理结果。"),
        evidence_ids=p.evidence_ids,
    ),
    Action.VERIFY: lambda c, u, p: svc.case_verify(case=c, actor=u, version=p.version, note=p.note),
    Action.RATE: lambda c, u, p: svc.case_rate(
        case=c,
        actor=u,
        version=p.version,
        satisfaction=_require(p.satisfaction, "satisfaction", "请选择满意度（1至5）。"),
        note=p.note,
    ),
    Action.REOPEN: lambda c, u, p: svc.case_reopen(case=c, actor=u, version=p.version, note=p.note),
    Action.CLOSE: lambda c, u, p: svc.case_close(case=c, actor=u, version=p.version, note=p.note),
    Action.ADD_ASSIST: lambda c, u, p: svc.case_add_assist(
        case=c,
        actor=u,
        version=p.version,
        department_id=_require(p.department_id, "department_id", "请选择协办部门。"),
        task=_require(p.task, "task", "请填写协办任务。"),
    ),
    Action.CLOSE_ASSIST: lambda c, u, p: svc.case_close_assist(
        case=c,
        actor=u,
        version=p.version,
        task_id=_require(p.task_id, "task_id", "请选择协办任务。"),
        status=_require(p.status, "status", "请选择完成或免除。"),
        note=p.note,
    ),
    Action.OVERRIDE_RISK: lambda c, u, p: svc.case_override_risk(
        case=c, actor=u, version=p.version, risk=_require(p.risk, "risk", "请选择风险等级。"), note=p.note
    ),
    Action.UPDATE_FACTS: lambda c, u, p: svc.case_update_facts(
        case=c,
        actor=u,
        version=p.version,
        facts=_require(p.facts, "facts", "请填写研判要素。").model_dump(exclude_none=True),
        note=p.note,
    ),
    Action.COMMENT: lambda c, u, p: svc.case_comment(case=c, actor=u, version=p.version, note=p.note),
    Action.REQUEST_SUSPENSION: lambda c, u, p: sla.case_request_suspension(
        case=c, actor=u, version=p.version, note=p.note
    ),
    Action.REQUEST_EXTENSION: lambda c, u, p: sla.case_request_extension(
        case=c, actor=u, version=p.version, note=p.note, days=p.days
    ),
    Action.DECIDE_REQUEST: lambda c, u, p: sla.case_decide_request(
        case=c, actor=u, version=p.version, approve=_require(p.approve, "approve", "请选择批准或驳回。"), note=p.note
    ),
    Action.RESUME: lambda c, u, p: sla.case_resume(case=c, actor=u, version=p.version, note=p.note),
}


@router.post("/cases/{case_id}/actions/{action}", response=CaseDetail, summary="Make a move on a case")
def case_action(request, case_id: int, action: Action, payload: ActionIn):
    """Every move takes the `version` the caller saw. 404: not visible; 403: not allowed;
    409: wrong state or stale version (`code` says which); 422: bad input (`field`)."""
    with transaction.atomic():
        case = case_get_visible(user=request.user, case_id=case_id)
        case = ACTIONS[action](case, request.user, payload)
        case = case_get_visible(user=request.user, case_id=case.pk) if _still_visible(request.user, case) else case
        return case_detail(case, request.user)


def _still_visible(user, case: Case) -> bool:
    return case_list_visible_to(user=user).filter(pk=case.pk).exists()


@router.post("/attachments", response={201: AttachmentOut}, summary="Upload a photo or file")
def attachment_create(request, file: File[UploadedFile]):
    """Typed by content (JPEG, PNG, GIF, WEBP, HEIC, MP4, AMR, PDF), at most
    `PUAN_MAX_UPLOAD_MB`. Reference the id in `evidence_ids` when reporting or resolving."""
    if file.size is not None and file.size > max_upload_bytes():
        raise InvalidInput(f"文件超过 {max_upload_bytes() // (1024 * 1024)} MB 的上限。", field="file")
    attachment = attachment_upload(actor=request.user, name=file.name or "", content=file.read())
    return 201, attachment_out(attachment)


@router.get("/attachments/{attachment_id}", summary="Download an attachment", response={200: None})
def attachment_get(request, attachment_id: int):
    attachment = Attachment.objects.filter(pk=attachment_id).first()
    if attachment is None:
        raise NotVisible("附件不存在。")
    if attachment.case_id is None:
        if attachment.uploaded_by_id != request.user.pk:
            raise NotVisible("附件不存在。")
    else:
        case_get_visible(user=request.user, case_id=attachment.case_id)
    response = FileResponse(attachment.file.open("rb"), content_type=attachment.content_type)
    response["Content-Disposition"] = f'inline; filename="{attachment.pk}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
