"""Suspending a case's clock (挂起) and extending its deadline (延期), each with a reason
and a supervisor's approval; and the case's remaining time with its traffic light."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from puan.cases.models import OPEN_STATES, Case
from puan.cases.services import _commit_move, check_move
from puan.core.errors import Conflict, InvalidInput, NotAllowed
from puan.sla.calendar import working_calendar
from puan.sla.engine import add_time, policy_for, remaining_minutes
from puan.sla.models import RequestKind, RequestState, SlaRequest
from puan.sla.sweep import NEXT_LOOK, STAGE_80


def _policy(case: Case):
    return policy_for(lane=case.lane, tier=case.tier, risk=case.risk, kind=case.kind)


def extendable(case: Case) -> bool:
    """Whether the case's deadline policy allows an extension at all (urgent, simple and
    complex matters do not)."""
    return _policy(case).extension_minutes > 0


@transaction.atomic
def case_request_suspension(*, case: Case, actor, version: int, note: str) -> Case:
    check_move(case, actor, "request_suspension", version)
    if case.suspended_at is not None:
        raise Conflict("案件已挂起。", code="already_suspended")
    return _open_request(case, actor=actor, version=version, kind=RequestKind.SUSPEND, note=note, minutes=0)


@transaction.atomic
def case_request_extension(*, case: Case, actor, version: int, note: str, days: int | None = None) -> Case:
    """One extension per case, at most the policy's allowance (petitions: 30 days)."""
    check_move(case, actor, "request_extension", version)
    policy = _policy(case)
    if case.extended:
        raise Conflict("每件案件只能延期一次。", code="already_extended")
    if policy.extension_minutes <= 0:
        raise Conflict(
            "“%(policy)s”时限不允许延期。", params={"policy": gettext_lazy(policy.name)}, code="not_extendable"
        )
    minutes = policy.extension_minutes if days is None else days * 24 * 60
    if not 0 < minutes <= policy.extension_minutes:
        raise InvalidInput(
            "延期不能超过 %(days)s 天。", params={"days": policy.extension_minutes // (24 * 60)}, field="days"
        )
    return _open_request(case, actor=actor, version=version, kind=RequestKind.EXTEND, note=note, minutes=minutes)


def _open_request(case: Case, *, actor, version: int, kind: str, note: str, minutes: int) -> Case:
    if SlaRequest.objects.filter(case=case, state=RequestState.PENDING).exists():
        raise Conflict("已有待审批的挂起或延期申请。", code="request_pending")
    action = "request_suspension" if kind == RequestKind.SUSPEND else "request_extension"
    now = timezone.now()
    case = _commit_move(
        case, actor=actor, action=action, version=version, now=now, note=note, data={"minutes": minutes}
    )
    SlaRequest.objects.create(
        case=case, kind=kind, reason=note.strip(), minutes=minutes, requested_by=actor, requested_at=now
    )
    return case


# The moves of the deadline clock: the transition table allows them in every working state.
CLOCK_MOVES = frozenset({"resume", "decide_request", "request_suspension", "request_extension"})


def clock_moves_ruled_out(case: Case, user) -> set[str]:
    """The clock moves the clock's state rules out, for the API's `allowed_actions` and the
    page's buttons alike: resume only a suspended case, decide only a pending request (and
    never one's own), ask for an extension once and only where the deadline policy allows
    one, and ask for nothing while a request is pending."""
    requester = (
        SlaRequest.objects.filter(case_id=case.pk, state=RequestState.PENDING)
        .values_list("requested_by_id", flat=True)
        .first()
    )
    pending = requester is not None
    ruled_out = set()
    if case.suspended_at is None:
        ruled_out.add("resume")
    if not pending or requester == user.pk:  # nobody decides their own request
        ruled_out.add("decide_request")
    if pending or case.suspended_at is not None:
        ruled_out.add("request_suspension")
    if pending or case.extended or not extendable(case):
        ruled_out.add("request_extension")
    return ruled_out


@transaction.atomic
def case_decide_request(*, case: Case, actor, version: int, approve: bool, note: str = "") -> Case:
    check_move(case, actor, "decide_request", version)
    request = SlaRequest.objects.select_for_update().filter(case=case, state=RequestState.PENDING).first()
    if request is None:
        raise Conflict("没有待审批的挂起或延期申请。", code="no_pending_request")
    if request.requested_by_id == actor.pk:
        # Approval is a second person's judgement (a dispatcher owns and supervises alike).
        raise NotAllowed("不能审批本人提出的申请，请由其他上级人员审批。")
    if not approve and not note.strip():
        raise InvalidInput("驳回申请须填写理由。", field="note")
    now = timezone.now()
    changes: dict = {}
    if approve and request.kind == RequestKind.SUSPEND:
        changes = {"suspended_at": now, "next_sla_at": None}
    elif approve:
        changes = _extended_fields(case, request.minutes)
    case = _commit_move(
        case,
        actor=actor,
        action="decide_request",
        version=version,
        now=now,
        note=note,
        changes=changes,
        data={"request": request.pk, "kind": request.kind, "approved": approve, "minutes": request.minutes},
    )
    SlaRequest.objects.filter(pk=request.pk).update(
        state=RequestState.APPROVED if approve else RequestState.REJECTED,
        decided_by=actor,
        decided_at=now,
        decision_note=note.strip(),
    )
    return case


def _extended_fields(case: Case, minutes: int) -> dict:
    working = _policy(case).working_time
    calendar = working_calendar()
    due = add_time(calendar, case.resolve_due_at, minutes, working)
    fields = {"resolve_due_at": due, "extended": True, "is_overdue": False}
    # The sweep looks again at the 80% mark of the longer span, or at the new deadline.
    total = remaining_minutes(due=due, now=case.sla_started_at, working=working, calendar=calendar)
    mark_80 = add_time(calendar, case.sla_started_at, abs(total) * 0.8, working)
    fields["sla_mark_80_at"] = mark_80
    if case.suspended_at is None:
        fields["next_sla_at"] = max(mark_80, timezone.now()) if case.sla_stage < STAGE_80 else due
        fields["sla_stage"] = min(case.sla_stage, STAGE_80)
    return fields


@transaction.atomic
def case_resume(*, case: Case, actor, version: int, note: str = "") -> Case:
    """Restart a suspended clock: every deadline moves on by the working time it was paused."""
    check_move(case, actor, "resume", version)
    if case.suspended_at is None:
        raise Conflict("案件未挂起。", code="not_suspended")
    now = timezone.now()
    working = _policy(case).working_time
    calendar = working_calendar()
    paused = remaining_minutes(due=now, now=case.suspended_at, working=working, calendar=calendar)

    def shift(moment: datetime | None) -> datetime | None:
        return add_time(calendar, moment, paused, working) if moment else None

    changes = {
        "suspended_at": None,
        "respond_due_at": shift(case.respond_due_at),
        "resolve_due_at": shift(case.resolve_due_at),
        "sla_mark_50_at": shift(case.sla_mark_50_at),
        "sla_mark_80_at": shift(case.sla_mark_80_at),
    }
    look = NEXT_LOOK.get(case.sla_stage)
    changes["next_sla_at"] = changes[look] if look and case.state in OPEN_STATES else None
    return _commit_move(
        case,
        actor=actor,
        action="resume",
        version=version,
        now=now,
        note=note,
        changes=changes,
        data={"paused_minutes": round(paused)},
    )


# --- what the case page shows ---------------------------------------------------------


@dataclass(frozen=True)
class Clock:
    remaining_seconds: int | None  # negative when overdue; None when no clock runs
    light: str  # green | yellow | red | overdue | paused | stopped
    working_time: bool


def case_clock(case: Case, now: datetime | None = None) -> Clock:
    """Remaining time and its traffic light: green until half the time has gone, yellow
    to 80%, red beyond, "overdue" past the deadline."""
    now = now or timezone.now()
    policy = _policy(case)
    if case.state not in OPEN_STATES or case.resolve_due_at is None:
        return Clock(None, "stopped", policy.working_time)
    if case.suspended_at is not None:
        left = remaining_minutes(due=case.resolve_due_at, now=case.suspended_at, working=policy.working_time)
        return Clock(int(left * 60), "paused", policy.working_time)
    left = remaining_minutes(due=case.resolve_due_at, now=now, working=policy.working_time)
    if left < 0 or case.is_overdue:
        light = "overdue"
    elif case.sla_mark_80_at and now >= case.sla_mark_80_at:
        light = "red"
    elif case.sla_mark_50_at and now >= case.sla_mark_50_at:
        light = "yellow"
    else:
        light = "green"
    return Clock(int(left * 60), light, policy.working_time)
