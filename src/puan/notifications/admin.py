from __future__ import annotations

from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, Q

from puan.core.admin_site import PuanModelAdmin, PuanReadOnlyAdmin
from puan.core.pii import mask_phone
from puan.notifications.models import DeliveryStatus, Notification, SmsMessage, WebhookDelivery, WebhookEndpoint
from puan.notifications.services import webhook_deliveries_retry


class ReadOnlyLogAdmin(PuanReadOnlyAdmin):
    """Logs are written by the system; administrators look, filter and act, never edit."""

    deletable = True
    # The tables grow without bound; counting every row on each page view would be slow.
    show_full_result_count = False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(PuanModelAdmin):
    list_display = ["name", "url", "kinds_shown", "is_active", "pending_count", "failed_count", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "url"]
    # A receiver typed without a scheme is meant to be reached over TLS.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                pending=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
                failed=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
            )
        )

    @admin.display(description="订阅类型")
    def kinds_shown(self, obj: WebhookEndpoint) -> str:
        return "、".join(obj.kinds) if obj.kinds else "全部"

    @admin.display(description="待投递", ordering="pending")
    def pending_count(self, obj) -> int:
        return obj.pending

    @admin.display(description="投递失败", ordering="failed")
    def failed_count(self, obj) -> int:
        return obj.failed


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyLogAdmin):
    list_display = [
        "id",
        "endpoint",
        "kind",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "short_error",
        "delivered_at",
        "created_at",
    ]
    list_filter = ["status", "endpoint", "kind"]
    list_select_related = ["endpoint"]
    search_fields = ["=id", "kind", "last_error"]
    actions = ["retry_now"]

    @admin.display(description="最近错误")
    def short_error(self, obj: WebhookDelivery) -> str:
        return obj.last_error[:80]

    @admin.action(description="立即重试所选投递")
    def retry_now(self, request, queryset):
        retried = webhook_deliveries_retry(actor=request.user, delivery_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"已安排 {retried} 条投递立即重试（已投递或正在投递的不受影响）。", messages.SUCCESS)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyLogAdmin):
    list_display = ["id", "recipient", "kind", "title", "case", "order_id", "created_at", "read_at"]
    list_filter = ["kind"]
    list_select_related = ["recipient", "case"]  # the list shows each row's case
    raw_id_fields = ["recipient", "case"]
    search_fields = ["title", "recipient__username"]


@admin.register(SmsMessage)
class SmsMessageAdmin(ReadOnlyLogAdmin):
    list_display = ["id", "masked_phone", "text", "backend", "status", "created_at"]
    list_filter = ["status", "backend"]
    exclude = ["phone"]
    readonly_fields = ["masked_phone", "text", "backend", "status", "error", "created_at"]

    @admin.display(description="手机号码")
    def masked_phone(self, obj: SmsMessage) -> str:
        return mask_phone(obj.phone)
