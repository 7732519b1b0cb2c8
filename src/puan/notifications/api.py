"""The inbox (every signed-in user, own notifications only) and the webhook delivery log
(administrators)."""

from __future__ import annotations

from ninja import Query, Router

from puan.notifications.models import Notification, WebhookDelivery
from puan.notifications.schemas import (
    DeliveryPage,
    DeliveryQuery,
    InboxPage,
    NotificationOut,
    ReadAllOut,
    RetryOut,
)
from puan.notifications.selectors import (
    notification_list_for,
    notification_unread_count,
    webhook_delivery_get_for,
    webhook_delivery_list_for,
)
from puan.notifications.services import (
    notification_mark_all_read,
    notification_mark_read,
    webhook_deliveries_retry,
)

router = Router(tags=["notifications"])


def notification_item(n: Notification) -> dict:
    return {
        "id": n.pk,
        "kind": n.kind,
        "kind_label": n.kind_label,
        "title": n.title,
        "body": n.body,
        "case_id": n.case_id,
        "order_id": n.order_id,
        "data": n.data,
        "created_at": n.created_at,
        "read_at": n.read_at,
    }


def delivery_item(d: WebhookDelivery) -> dict:
    return {
        "id": d.pk,
        "endpoint_id": d.endpoint_id,
        "endpoint_name": d.endpoint.name,
        "kind": d.kind,
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at,
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "delivered_at": d.delivered_at,
        "created_at": d.created_at,
        "payload": d.payload,
    }


@router.get("/inbox", response=InboxPage, summary="My notifications, newest first")
def inbox_list(
    request,
    unread: bool = Query(False, description="Only unread ones"),
    limit: int = Query(20, ge=1, le=100),
    offset: int = Query(0, ge=0),
):
    rows = notification_list_for(user=request.user, unread=unread)
    return {
        "items": [notification_item(n) for n in rows[offset : offset + limit]],
        "count": rows.count(),
        "unread": notification_unread_count(user=request.user),
    }


@router.post("/inbox/read-all", response=ReadAllOut, summary="Mark all my notifications read")
def inbox_read_all(request):
    return {"updated": notification_mark_all_read(actor=request.user)}


@router.post("/inbox/{notification_id}/read", response=NotificationOut, summary="Mark one notification read")
def inbox_read(request, notification_id: int):
    return notification_item(notification_mark_read(actor=request.user, notification_id=notification_id))


@router.get(
    "/notifications/deliveries",
    response=DeliveryPage,
    summary="Webhook deliveries, newest first (administrators)",
)
def delivery_list(request, filters: Query[DeliveryQuery]):
    """`status=failed` lists what was given up, with the last error and HTTP status of each."""
    status = filters.status.value if filters.status else None
    rows = webhook_delivery_list_for(user=request.user, status=status)
    page = rows[filters.offset : filters.offset + filters.limit]
    return {"items": [delivery_item(d) for d in page], "count": rows.count()}


@router.post(
    "/notifications/deliveries/{delivery_id}/retry",
    response=RetryOut,
    summary="Retry a webhook delivery now (administrators)",
)
def delivery_retry(request, delivery_id: int):
    delivery = webhook_delivery_get_for(user=request.user, delivery_id=delivery_id)
    return {"retried": webhook_deliveries_retry(actor=request.user, delivery_ids=[delivery.pk])}
