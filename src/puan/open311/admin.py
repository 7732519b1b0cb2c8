"""Administrators issue, rotate and revoke Open311 keys here. A key is shown once, in the
message after it is issued; only its SHA-256 is stored."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils import timezone

from puan.core.admin_site import PuanModelAdmin, PuanReadOnlyAdmin
from puan.open311 import services
from puan.open311.models import ClientSystem, Open311Request


def _show_key(request, client: ClientSystem, key: str) -> None:
    messages.warning(request, f"“{client.name}”的新 API key（只显示这一次，请立即复制并安全转交）：{key}")


@admin.register(ClientSystem)
class ClientSystemAdmin(PuanModelAdmin):
    list_display = ["name", "contact", "key_prefix", "rate_per_minute", "key_issued_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "contact"]
    fields = ["name", "contact", "note", "rate_per_minute", "key_prefix", "created_at", "key_issued_at", "revoked_at"]
    readonly_fields = ["key_prefix", "created_at", "key_issued_at", "revoked_at"]
    actions = ["issue_new_key", "revoke"]

    def save_model(self, request, obj: ClientSystem, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # New clients go through the service, which makes the key and stores only its hash.
        client, key = services.client_system_create(
            name=obj.name, contact=obj.contact, note=obj.note, rate_per_minute=obj.rate_per_minute
        )
        obj.pk = client.pk
        obj.refresh_from_db()
        _show_key(request, client, key)

    @admin.action(description="签发新密钥（旧密钥立即失效）")
    def issue_new_key(self, request, queryset) -> None:
        for client in queryset:
            _show_key(request, client, services.client_system_rotate_key(client=client))

    @admin.action(description="停用所选接入系统")
    def revoke(self, request, queryset) -> None:
        now = timezone.now()
        for client in queryset:
            services.client_system_revoke(client=client, now=now)
        self.message_user(request, f"已停用 {queryset.count()} 个接入系统。")


@admin.register(Open311Request)
class Open311RequestAdmin(PuanReadOnlyAdmin):
    """Which client filed which report: read-only, and without the reporter's e-mail."""

    list_display = ["created_at", "client", "case", "service_code", "linked"]
    list_filter = ["client", "linked"]
    list_select_related = ["client", "case"]
    fields = ["created_at", "client", "case", "service_code", "linked", "token", "attributes", "media_url"]
    readonly_fields = fields
    raw_id_fields = ["case"]
