from __future__ import annotations

from django.contrib import admin

from puan.core.admin_site import PuanModelAdmin, PuanReadOnlyAdmin
from puan.sla.models import CalendarDay, SlaPolicy, SlaRequest


@admin.register(SlaPolicy)
class SlaPolicyAdmin(PuanModelAdmin):
    list_display = [
        "name",
        "lane",
        "tier",
        "risk",
        "kind",
        "respond_minutes",
        "resolve_minutes",
        "working_time",
        "extension_minutes",
        "is_active",
    ]
    list_filter = ["lane", "tier", "risk", "kind", "working_time", "is_active"]


@admin.register(CalendarDay)
class CalendarDayAdmin(PuanModelAdmin):
    list_display = ["date", "kind", "name", "year", "provisional"]
    list_filter = ["year", "kind", "provisional"]
    date_hierarchy = "date"
    search_fields = ["name"]

    def save_model(self, request, obj, form, change):
        obj.year = obj.date.year
        super().save_model(request, obj, form, change)


@admin.register(SlaRequest)
class SlaRequestAdmin(PuanReadOnlyAdmin):
    deletable = True
    list_display = ["case", "kind", "state", "requested_by", "requested_at", "decided_by", "decided_at"]
    list_filter = ["kind", "state"]
    raw_id_fields = ["case", "requested_by", "decided_by"]
