"""Reads of the inbox and the delivery log, scoped to the user asking."""

from __future__ import annotations

from django.db.models import QuerySet

from puan.core.admin_site import is_administrator
from puan.core.errors import InvalidInput, NotAllowed, NotVisible
from puan.notifications.models import DeliveryStatus, Notification, WebhookDelivery


def notification_list_for(*, user, unread: bool = False) -> QuerySet[Notification]:
    """The user's own notifications, newest first; nobody reads another person's inbox."""
    rows = Notification.objects.filter(recipient_id=user.pk)
    if unread:
        rows = rows.filter(read_at__isnull=True)
    return rows.order_by("-id")


def notification_unread_count(*, user) -> int:
    return Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True).count()


def notification_get_for(*, user, notification_id: int) -> Notification:
    found = notification_list_for(user=user).filter(pk=notification_id).first()
    if found is None:
        raise NotVisible("消息不存在或无权查看。")
    return found


def webhook_delivery_list_for(*, user, status: str | None = None) -> QuerySet[WebhookDelivery]:
    """The delivery log is for administrators: it shows where the district's data goes."""
    if not is_administrator(user):
        raise NotAllowed("仅系统管理员可以查看 Webhook 投递记录。")
    rows = WebhookDelivery.objects.select_related("endpoint")
    if status is not None:
        if status not in DeliveryStatus.values:
            raise InvalidInput("未知的投递状态。", field="status")
        rows = rows.filter(status=status)
    return rows.order_by("-id")


def webhook_delivery_get_for(*, user, delivery_id: int) -> WebhookDelivery:
    found = webhook_delivery_list_for(user=user).filter(pk=delivery_id).first()
    if found is None:
        raise NotVisible("投递记录不存在。")
    return found
