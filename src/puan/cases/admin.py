from __future__ import annotations

from django.contrib import admin

from puan.cases.models import Case, CaseEvent, RiskRule
from puan.core.admin_site import PuanModelAdmin, PuanReadOnlyAdmin, PuanReadOnlyInline


@admin.register(RiskRule)
class RiskRuleAdmin(PuanModelAdmin):
    list_display = ["code", "dimension", "fact", "threshold", "colour", "reason", "is_active"]
    list_filter = ["dimension", "colour", "is_active"]
    list_editable = ["threshold", "colour", "is_active"]
    search_fields = ["code", "reason"]


class CaseEventInline(PuanReadOnlyInline):
    model = CaseEvent
    fields = ["seq", "kind", "from_state", "to_state", "actor", "tier", "note", "at"]
    readonly_fields = fields


@admin.register(Case)
class CaseAdmin(PuanReadOnlyAdmin):
    """Read-only: cases change only through their moves, so every change is on the timeline."""

    list_display = ["tracking_code", "title", "kind", "state", "risk", "tier", "owner_unit", "created_at"]
    list_filter = ["state", "risk", "tier", "kind", "channel", "is_overdue"]
    search_fields = ["tracking_code", "title"]
    date_hierarchy = "created_at"
    list_select_related = ["owner_unit"]
    inlines = [CaseEventInline]
    exclude = ["reporter_phone", "reporter_id_number"]
    show_full_result_count = False
