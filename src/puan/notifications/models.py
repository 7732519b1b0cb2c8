"""The in-app inbox, outgoing webhooks with their delivery log, and the SMS log."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from puan.core.pii import EncryptedTextField

# Kinds other apps send today, with the label the inbox shows. Not a closed list: a new
# kind works without a migration and is shown by its code until it gets a label here.
KIND_LABELS: dict[str, str] = {
    "sla_respond_overdue": "超时未受理",
    "sla_reminder_50": "时限过半提醒",
    "sla_reminder_80": "时限将至提醒",
    "sla_overdue": "案件超期",
    "case_escalated": "案件上报",
    "red_case": "红色预警",
    "supervision_issued": "督办下发",
    "supervision_overdue": "督办超期",
    "supervision_escalated": "督办升级",
    "supervision_responded": "督办已反馈",
    "supervision_returned": "督办反馈被退回",
    "supervision_closed": "督办已办结",
}


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


class Notification(models.Model):
    """One message in one user's inbox."""

    # The composite indexes below start with the recipient, so the FK needs no index of its own.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="接收人",
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
    )
    kind = models.CharField("类型", max_length=50)
    title = models.CharField("标题", max_length=200)
    body = models.TextField("内容", blank=True, default="")
    case = models.ForeignKey(
        "cases.Case",
        verbose_name="案件",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notifications",
    )
    # Supervision orders live in another app; a plain id keeps this table independent of it.
    order_id = models.PositiveBigIntegerField("督办单编号", null=True, blank=True)
    data = models.JSONField("附加数据", default=dict, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField("时间", default=timezone.now)
    read_at = models.DateTimeField("已读时间", null=True, blank=True)

    class Meta:
        verbose_name = "站内消息"
        verbose_name_plural = "站内消息"
        indexes = [
            models.Index(fields=["recipient", "-id"], name="notification_inbox"),
            # The badge and the "unread only" list read only this small slice.
            models.Index(fields=["recipient", "-id"], condition=Q(read_at__isnull=True), name="notification_unread"),
        ]
        constraints = [models.CheckConstraint(condition=~Q(kind=""), name="notification_kind_not_empty")]

    def __str__(self) -> str:
        return self.title

    @property
    def kind_label(self) -> str:
        return kind_label(self.kind)


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """An outside system that receives notifications as signed JSON POSTs."""

    name = models.CharField("名称", max_length=100)
    url = models.URLField("接收地址", max_length=500, validators=[URLValidator(schemes=["http", "https"])])
    # Encrypted at rest like personal data: whoever reads the database must not be able to forge events.
    secret = EncryptedTextField(
        "签名密钥", default=new_webhook_secret, help_text="接收方用它校验 X-Puan-Signature（HMAC-SHA256）。"
    )
    kinds = models.JSONField(
        "订阅类型",
        default=list,
        blank=True,
        help_text='通知类型代码的列表，如 ["sla_overdue", "red_case"]；留空表示全部。',
    )
    is_active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "Webhook 接收端"
        verbose_name_plural = "Webhook 接收端"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not isinstance(self.kinds, list) or not all(isinstance(k, str) and k for k in self.kinds):
            raise ValidationError({"kinds": '请填写通知类型代码的列表，例如 ["sla_overdue"]；留空表示全部。'})

    def accepts(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "待投递"
    DELIVERED = "delivered", "已投递"
    FAILED = "failed", "投递失败"


class WebhookDelivery(models.Model):
    """One notification for one endpoint: an outbox row retried until delivered or given up."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, verbose_name="接收端", on_delete=models.CASCADE, related_name="deliveries"
    )
    kind = models.CharField("类型", max_length=50)
    payload = models.JSONField("内容", encoder=DjangoJSONEncoder)
    status = models.CharField("状态", max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField("已尝试次数", default=0)
    # Null once delivered or given up, so the due-work index holds only live rows' times.
    next_attempt_at = models.DateTimeField("下次尝试", null=True, blank=True)
    # Set by the worker that claimed the row; a second worker's claim finds it taken.
    claim_token = models.UUIDField("认领标记", null=True, blank=True, editable=False)
    last_status_code = models.PositiveSmallIntegerField("最近响应码", null=True, blank=True)
    last_error = models.TextField("最近错误", blank=True, default="")
    delivered_at = models.DateTimeField("投递时间", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", default=timezone.now)

    class Meta:
        verbose_name = "Webhook 投递"
        verbose_name_plural = "Webhook 投递"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhookdelivery_due"),
            models.Index(fields=["claim_token"], condition=Q(claim_token__isnull=False), name="webhookdelivery_claim"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=DeliveryStatus.values), name="webhookdelivery_status_valid")
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} → {self.endpoint_id}"


class SmsStatus(models.TextChoices):
    LOGGED = "logged", "仅记录（未发送）"
    SENT = "sent", "已提交网关"
    FAILED = "failed", "发送失败"


class SmsMessage(models.Model):
    """Every text handed to an SMS backend, so what was (or would have been) sent is on record."""

    phone = EncryptedTextField("手机号码")
    text = models.TextField("短信内容")
    backend = models.CharField("发送通道", max_length=100)
    status = models.CharField("状态", max_length=16, choices=SmsStatus.choices, default=SmsStatus.LOGGED)
    error = models.TextField("错误", blank=True, default="")
    created_at = models.DateTimeField("时间", default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "短信记录"
        verbose_name_plural = "短信记录"

    def __str__(self) -> str:
        return f"#{self.pk} {self.status}"
