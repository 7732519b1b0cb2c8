"""Supervision orders in the admin: to look up and audit, not to edit. Every change goes
through the services, which keep the version, the timeline and the cases' timelines."""

from __future__ import annotations

from django.contrib import admin

from puan.core.admin_site import PuanReadOnlyAdmin, PuanReadOnlyInline
from puan.supervision.models import SupervisionEvent, SupervisionOrder, SupervisionOrderCase


class OrderCaseInline(PuanReadOnlyInline):
    model = SupervisionOrderCase
    fields = ["case"]
    readonly_fields = ["case"]
    verbose_name = "涉及案件"
    verbose_name_plural = "涉及案件"


class EventInline(PuanReadOnlyInline):
    model = SupervisionEvent
    fields = ["seq", "kind", "from_state", "to_state", "actor", "actor_unit", "note", "at"]
    readonly_fields = fields
    ordering = ["seq"]


@admin.register(SupervisionOrder)
class SupervisionOrderAdmin(PuanReadOnlyAdmin):
    list_display = ["code", "kind", "title", "unit", "state", "deadline", "issued_at", "escalated_at", "responded_at"]
    list_filter = ["kind", "state", "response_required"]
    search_fields = ["code", "title", "unit__name"]
    date_hierarchy = "issued_at"
    list_select_related = ["unit"]
    list_per_page = 100
    ordering = ["-issued_at", "-pk"]
    inlines = [OrderCaseInline, EventInline]
    readonly_fields = [f.name for f in SupervisionOrder._meta.concrete_fields]
