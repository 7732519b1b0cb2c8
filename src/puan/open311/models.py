"""Open311 GeoReport v2: the outside systems allowed to file reports and which report each
of them filed. (Their per-minute limits are counted by `core.ratelimit`.)"""

from __future__ import annotations

from django.db import models

from puan.core.pii import EncryptedTextField


class ClientSystem(models.Model):
    """An outside system (the 12345 hotline platform, a mini-program …) holding one API key.

    Only the key's SHA-256 is stored: the key itself is shown once, when it is issued."""

    name = models.CharField("系统名称", max_length=100, unique=True)
    contact = models.CharField("联系人及联系方式", max_length=200, blank=True)
    note = models.TextField("备注", blank=True)
    key_hash = models.CharField("密钥摘要(SHA-256)", max_length=64, unique=True, editable=False)
    # The first characters of the key, so an administrator can tell which key a caller holds.
    key_prefix = models.CharField("密钥前缀", max_length=12, editable=False)
    rate_per_minute = models.PositiveIntegerField(
        "每分钟提交上限", null=True, blank=True, help_text="留空则使用 PUAN_OPEN311_RATE_PER_MINUTE；0 表示不限。"
    )
    created_at = models.DateTimeField("创建时间")
    key_issued_at = models.DateTimeField("密钥签发时间")
    revoked_at = models.DateTimeField("停用时间", null=True, blank=True)

    class Meta:
        verbose_name = "Open311 接入系统"
        verbose_name_plural = "Open311 接入系统"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Open311Request(models.Model):
    """One POST: which client filed it, the token it got back, and the reporter details
    Open311 carries that the case itself has no column for. Several rows may point at one
    case when reports were linked as duplicates."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="open311_requests")
    client = models.ForeignKey(ClientSystem, on_delete=models.PROTECT, related_name="requests")
    token = models.CharField("令牌", max_length=40, unique=True)
    # The service the client chose: a dispatcher may re-categorise the case later.
    service_code = models.CharField("提交时的服务编码", max_length=16)
    linked = models.BooleanField("并入已有案件", default=False)
    attributes = models.JSONField("附加属性", default=dict, blank=True)
    media_url = models.URLField("媒体链接", max_length=500, blank=True)
    device_id = models.CharField("设备标识", max_length=100, blank=True)
    account_id = models.CharField("账号标识", max_length=100, blank=True)
    # Personal data: encrypted at rest, never returned through Open311.
    email = EncryptedTextField("反映人邮箱", blank=True, default="")
    created_at = models.DateTimeField("提交时间", db_index=True)

    class Meta:
        verbose_name = "Open311 请求"
        verbose_name_plural = "Open311 请求"
        indexes = [models.Index(fields=["client", "case"], name="open311_client_case")]

    def __str__(self) -> str:
        return f"{self.client_id}→{self.case_id}"
