from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from ninja import Field

from puan.core.schema import Schema
from puan.notifications.models import DeliveryStatus

DeliveryStatusEnum = StrEnum("DeliveryStatusEnum", {k: k for k in DeliveryStatus.values})


class NotificationOut(Schema):
    id: int
    kind: str = Field(..., description="Notification kind, e.g. sla_overdue, red_case, supervision_issued")
    kind_label: str = Field(..., description="The kind as shown to users (Chinese)")
    title: str
    body: str = Field(..., description="Text of the notification; may be empty")
    case_id: int | None = Field(None, description="The case it is about, if any")
    order_id: int | None = Field(None, description="The supervision order it is about, if any")
    data: dict[str, Any] = Field(..., description="Structured details from the sender")
    created_at: datetime
    read_at: datetime | None = Field(None, description="When the user read it; null while unread")


class InboxPage(Schema):
    items: list[NotificationOut]
    count: int
    unread: int = Field(..., description="Unread notifications of the user, over all pages")


class ReadAllOut(Schema):
    updated: int = Field(..., description="How many notifications were marked read")


class DeliveryOut(Schema):
    id: int
    endpoint_id: int = Field(..., description="Id of the webhook endpoint")
    endpoint_name: str = Field(..., description="Name of the webhook endpoint")
    kind: str = Field(..., description="Notification kind that was sent")
    status: DeliveryStatusEnum = Field(..., description="pending | delivered | failed (given up)")
    attempts: int = Field(..., description="HTTP attempts made so far")
    next_attempt_at: datetime | None = Field(None, description="When the next attempt is due; null when done")
    last_status_code: int | None = Field(None, description="HTTP status of the last attempt; null if none came back")
    last_error: str = Field(..., description="Error of the last failed attempt; empty after success")
    delivered_at: datetime | None = Field(None, description="When it was delivered")
    created_at: datetime
    payload: dict[str, Any] = Field(..., description="The JSON body sent, without its `id`")


class DeliveryQuery(Schema):
    status: DeliveryStatusEnum | None = Field(None, description="Only deliveries in this status")
    limit: int = Field(50, ge=1, le=200, description="Page size")
    offset: int = Field(0, ge=0, description="Rows to skip")


class DeliveryPage(Schema):
    items: list[DeliveryOut]
    count: int


class RetryOut(Schema):
    retried: int = Field(..., description="Deliveries made due now (0 if already delivered or in flight)")
