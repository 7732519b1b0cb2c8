from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from ninja import Field

from puan.cases.models import CaseKind, CaseState, Channel, PartyRole, Risk
from puan.core.schema import InputSchema, RowId, Schema
from puan.taxonomy.models import Lane

KindEnum = StrEnum("KindEnum", {k: k for k in CaseKind.values})
ChannelEnum = StrEnum("ChannelEnum", {k: k for k in Channel.values})
RiskEnum = StrEnum("RiskEnum", {k: k for k in Risk.values})
StateEnum = StrEnum("StateEnum", {k: k for k in CaseState.values})
LaneEnum = StrEnum("LaneEnum", {k: k for k in Lane.values})
# The parties a report names; its reporter comes in the reporter fields.
PartyRoleEnum = StrEnum("PartyRoleEnum", {k: k for k in PartyRole.values if k != PartyRole.REPORTER})


class Action(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    TRIAGE = "triage"
    ASSIGN = "assign"
    START = "start"
    ESCALATE = "escalate"
    RETURN = "return"
    RESOLVE = "resolve"
    VERIFY = "verify"
    RATE = "rate"
    REOPEN = "reopen"
    CLOSE = "close"
    ADD_ASSIST = "add_assist"
    CLOSE_ASSIST = "close_assist"
    OVERRIDE_RISK = "override_risk"
    UPDATE_FACTS = "update_facts"
    COMMENT = "comment"
    REQUEST_SUSPENSION = "request_suspension"
    REQUEST_EXTENSION = "request_extension"
    DECIDE_REQUEST = "decide_request"
    RESUME = "resume"


class Facts(InputSchema):
    people_involved: int | None = Field(None, ge=0, le=1_000_000, description="Number of people involved")
    group_incident: bool | None = Field(None, description="Signs of a group incident (群体性事件苗头)")
    public_place: bool | None = Field(None, description="Happens in a public place")
    vulnerable_people: bool | None = Field(None, description="Involves elderly, children, sick, disabled, pregnant")
    injury: bool | None = Field(None, description="Someone is injured")
    danger_to_life: bool | None = Field(None, description="Danger to life")
    property_loss: int | None = Field(None, ge=0, le=10**12, description="Property loss in yuan")
    safety_hazard: bool | None = Field(None, description="A safety hazard exists")
    repeat_reports: int | None = Field(None, ge=0, le=10_000, description="Earlier reports of the same matter")


class PartyIn(InputSchema):
    role: PartyRoleEnum = Field(..., description="applicant | respondent | other")
    name: str = Field(..., min_length=1, max_length=100)
    phone: str = Field("", max_length=20, description="Mobile or landline; stored encrypted")
    id_number: str = Field("", max_length=18, description="Resident ID number; stored encrypted")


class CaseIn(InputSchema):
    kind: KindEnum = Field(..., description="event | dispute | petition | hazard | appeal | emergency")
    channel: ChannelEnum = Field(
        ..., description="patrol | app | hotline | window | letter | online | iot | video | referral"
    )
    category: str = Field(..., min_length=1, max_length=16, description="Category code from GET /taxonomy, e.g. G05-01")
    title: str = Field(..., min_length=1, max_length=200)
    description: str = Field(..., min_length=1, max_length=4000, description="What happened (≤ 4,000 characters)")
    lon: float | None = Field(None, ge=-180, le=180, description="Longitude (WGS-84); resolved to a grid")
    lat: float | None = Field(None, ge=-90, le=90, description="Latitude (WGS-84)")
    address: str = Field("", max_length=300)
    unit_id: RowId | None = Field(None, description="Community or grid, when there are no coordinates")
    facts: Facts = Field(default_factory=Facts, description="Facts for the risk colour")
    reporter_name: str = Field("", max_length=50)
    reporter_phone: str = Field("", max_length=20, description="Stored encrypted; recognises repeat reporters")
    reporter_id_number: str = Field("", max_length=18, description="Stored encrypted; recognises repeat petitioners")
    parties: list[PartyIn] = Field(default_factory=list, max_length=50)
    handled_on_spot: bool = Field(False, description="Grid worker handled it on the spot (needs outcome + evidence)")
    outcome: str = Field("", max_length=4000, description="On-the-spot outcome")
    evidence_ids: list[RowId] = Field(default_factory=list, max_length=20, description="Ids from POST /attachments")
    observed_at: datetime | None = Field(
        None,
        description="When the reporter saw it, for a report sent later (queued on a phone without network): "
        "at most 7 days ago; without a zone, local time. Deadlines run from registration.",
    )


class UnitRef(Schema):
    id: int
    name: str


class CaseListItem(Schema):
    id: int
    tracking_code: str
    kind: str
    channel: str
    category: str = Field(..., description="Category code")
    category_name: str
    title: str
    state: str
    risk: str = Field(..., description="red | orange | yellow")
    lane: str
    tier: int = Field(..., description="1 community, 2 street, 3 district")
    owner_unit: UnitRef
    lead_department: UnitRef | None
    created_at: datetime
    resolve_due_at: datetime | None
    version: int


class EventOut(Schema):
    seq: int
    kind: str
    from_state: str
    to_state: str
    actor: str | None = Field(None, description="Display name of who did it; null for the system")
    actor_unit: str | None
    tier: int
    note: str
    data: dict
    at: datetime


class AssistOut(Schema):
    id: int
    department: UnitRef
    task: str
    status: str = Field(..., description="open | done | waived")
    note: str
    created_at: datetime = Field(..., description="When the department was asked (last, if asked again)")
    closed_at: datetime | None


class PartyOut(Schema):
    role: str
    name: str
    phone: str = Field(..., description="Masked unless revealed")
    id_number: str = Field(..., description="Masked unless revealed")


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    url: str


class CaseDetail(CaseListItem):
    description: str
    lon: float | None
    lat: float | None
    address: str
    grid: UnitRef | None
    community: UnitRef | None
    street: UnitRef | None
    risk_reasons: list[str]
    risk_facts: dict
    risk_override: str
    respond_due_at: datetime | None
    observed_at: datetime | None = Field(None, description="When the reporter saw it, if before registration")
    report_count: int = Field(..., description="Reports linked into this case (duplicates included)")
    handled_on_spot: bool
    outcome: str
    satisfaction: int | None
    reporter_name: str
    reporter_phone: str = Field(..., description="Masked unless revealed")
    reporter_id_number: str = Field(..., description="Masked unless revealed")
    parties: list[PartyOut]
    assists: list[AssistOut]
    attachments: list[AttachmentOut]
    allowed_actions: list[str] = Field(..., description="Moves the caller may make now")
    remaining_seconds: int | None = Field(
        None,
        description="Time left to the resolution deadline (negative when overdue; working time if the policy says so)",
    )
    sla_light: str = Field(
        ..., description="Traffic light: green | yellow (50% gone) | red (80%) | overdue | paused | stopped"
    )
    is_overdue: bool = Field(..., description="Marked overdue by the deadline sweep at its current tier")
    suspended: bool = Field(..., description="The deadline clock is paused (挂起)")
    extended: bool = Field(..., description="The one allowed extension has been granted")
    timeline: list[EventOut]
    revealed: bool


class IntakeOut(Schema):
    linked: bool = Field(..., description="True when the report joined an existing open case")
    earlier_reports: int = Field(..., description="Earlier cases of the same reporter in this category")
    tracking_code: str = Field(
        ..., description="Tracking code of the case the report now belongs to: it follows the case's public steps"
    )
    case: CaseDetail | None = Field(
        ..., description="The case; null when the report joined an open case outside the caller's scope"
    )


class CasePage(Schema):
    items: list[CaseListItem]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null at the end")


class QueueOut(Schema):
    items: list[CaseListItem]
    counts: dict[str, int] = Field(
        ...,
        description=(
            "Cases per state in the queue: the open states, and resolved, verified and rated"
            " cases awaiting their check or archiving"
        ),
    )
    total: int


class ActionIn(InputSchema):
    version: int = Field(..., ge=1, description="The case version you saw; a stale one is a 409")
    note: str = Field(
        "",
        max_length=4000,
        description=(
            "Reason, instructions or comment (required for reject, escalate, return, reopen, override_risk, comment)"
        ),
    )
    category: str | None = Field(None, max_length=16, description="triage: new category code")
    lane: LaneEnum | None = Field(None, description="triage: lane override")
    facts: Facts | None = Field(None, description="triage / update_facts: new facts")
    lead_department_id: RowId | None = Field(None, description="assign: lead department (default: the category's)")
    assists: list[AssistIn] | None = Field(None, description="assign: assisting departments")
    department_id: RowId | None = Field(None, description="add_assist: the department")
    task: str | None = Field(None, max_length=500, description="add_assist: its task")
    task_id: RowId | None = Field(None, description="close_assist: the task")
    status: str | None = Field(None, description="close_assist: done | waived")
    outcome: str | None = Field(None, max_length=4000, description="resolve: what was done")
    evidence_ids: list[RowId] | None = Field(None, max_length=20, description="resolve: attachment ids")
    satisfaction: int | None = Field(None, ge=1, le=5, description="rate: 1 (very unsatisfied) … 5 (very satisfied)")
    risk: RiskEnum | None = Field(None, description="override_risk: the new colour")
    days: int | None = Field(
        None, ge=1, le=365, description="request_extension: days asked for (default: the most allowed)"
    )
    approve: bool | None = Field(None, description="decide_request: true approves the pending suspension or extension")


class AssistIn(InputSchema):
    department_id: RowId
    task: str = Field(..., min_length=1, max_length=500)


ActionIn.model_rebuild()
