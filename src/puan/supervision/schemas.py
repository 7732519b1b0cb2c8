from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from ninja import Field

from puan.core.schema import InputSchema, RowId, Schema
from puan.supervision.models import OrderKind, OrderState

OrderKindEnum = StrEnum("OrderKindEnum", {k: k for k in OrderKind.values})
OrderStateEnum = StrEnum("OrderStateEnum", {k: k for k in OrderState.values})

KIND_HELP = "verification 核查 | supervision 督办 | reminder 催办 | interview 约谈 | notice 通报"
STATE_HELP = "issued 已下发 | acknowledged 已签收 | escalated 超期已升级 | responded 已反馈 | closed 已办结"


class OrderAction(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESPOND = "respond"
    CLOSE = "close"
    RETURN = "return"


class OrderIn(InputSchema):
    kind: OrderKindEnum = Field(..., description=KIND_HELP)
    unit_id: RowId = Field(
        ..., description="The addressed unit (受文单位): street/town, community/village or department"
    )
    title: str = Field(..., min_length=1, max_length=200)
    instructions: str = Field("", max_length=4000, description="What the unit is to do (工作要求)")
    case_ids: list[RowId] = Field(
        default_factory=list,
        max_length=200,
        description="Cases the order covers (at least one for verification, supervision and reminder)",
    )
    deadline: datetime | None = Field(None, description="Deadline to respond; required unless no response is asked")
    response_required: bool = Field(True, description="The unit must respond; only a notice (通报) may say false")
    meeting_at: datetime | None = Field(None, description="Interview only: when the head is to appear")
    meeting_place: str = Field("", max_length=200, description="Interview only: where the head is to appear")


class OrderActionIn(InputSchema):
    version: int = Field(..., ge=1, description="The order's version the caller saw; a stale one is a 409")
    note: str = Field("", max_length=2000)
    response: str | None = Field(None, max_length=4000, description="respond: the unit's answer (required)")
    deadline: datetime | None = Field(None, description="return: a new deadline (required when the old one has passed)")


class OrderUnitRef(Schema):
    id: int = Field(..., description="Unit id")
    name: str = Field(..., description="Unit name")


class OrderListItem(Schema):
    id: int
    code: str = Field(..., description="Order number, e.g. DB2026-0001 (kind prefix, year, number)")
    kind: str = Field(..., description=KIND_HELP)
    kind_label: str = Field(..., description="Kind in Chinese")
    title: str
    unit: OrderUnitRef = Field(..., description="The addressed unit (受文单位)")
    issuing_unit: OrderUnitRef = Field(..., description="The issuing unit (the district centre)")
    issued_by: str = Field(..., description="Who issued it")
    state: str = Field(..., description=STATE_HELP)
    state_label: str = Field(..., description="State in Chinese")
    deadline: datetime | None = Field(None, description="Deadline to respond")
    response_required: bool = Field(..., description="The unit must respond")
    is_overdue: bool = Field(..., description="Past its deadline without a response")
    case_count: int = Field(..., description="Number of cases covered")
    issued_at: datetime = Field(..., description="When it was issued")
    escalated_at: datetime | None = Field(None, description="When the sweep escalated it to the unit head")
    responded_at: datetime | None = Field(None, description="When the unit last responded")
    closed_at: datetime | None
    version: int


class OrderPage(Schema):
    items: list[OrderListItem]
    count: int


class OrderCaseOut(Schema):
    id: int
    tracking_code: str
    title: str
    state: str
    owner_unit: OrderUnitRef = Field(..., description="The unit that owns the case now")
    resolve_due_at: datetime | None
    is_overdue: bool = Field(..., description="Open and past its resolution deadline")


class OrderEventOut(Schema):
    seq: int
    kind: str = Field(..., description="issue | acknowledge | respond | close | return | escalate")
    from_state: str
    to_state: str
    actor: str | None = Field(None, description="Display name of who did it; null for the system")
    actor_unit: str | None
    note: str
    data: dict
    at: datetime


class OrderDetail(OrderListItem):
    instructions: str = Field(..., description="What the unit is to do (工作要求)")
    meeting_at: datetime | None = Field(None, description="Interview: when the head is to appear")
    meeting_place: str = Field(..., description="Interview: where the head is to appear")
    response: str = Field(..., description="The unit's latest response")
    responded_by: str | None = Field(None, description="Who responded")
    return_note: str = Field(..., description="The centre's latest reason for sending the response back")
    return_count: int = Field(..., description="How many times the response was sent back")
    closing_note: str = Field(..., description="The centre's note on closing")
    acknowledged_at: datetime | None = Field(None, description="When the unit signed for it")
    returned_at: datetime | None = Field(None, description="When the response was last sent back")
    cases: list[OrderCaseOut] = Field(..., description="The cases covered")
    allowed_actions: list[str] = Field(..., description="Moves the caller may make now")
    timeline: list[OrderEventOut]


class OverdueCaseOut(OrderCaseOut):
    risk: str = Field(..., description="red | orange | yellow")
    tier: int
    under_supervision: bool = Field(..., description="Already covered by an open supervision order")


class OverdueCaseList(Schema):
    items: list[OverdueCaseOut]
    count: int
