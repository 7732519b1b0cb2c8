from django.contrib import admin

from puan.core.admin_site import PuanModelAdmin
from puan.gridops.models import PatrolCheckIn


@admin.register(PatrolCheckIn)
class PatrolCheckInAdmin(PuanModelAdmin):
    list_display = ("user", "grid", "in_own_grid", "checked_at", "received_at")
    list_filter = ("in_own_grid",)
    search_fields = ("user__username", "user__display_name", "grid__name")
    raw_id_fields = ("user", "grid")
    date_hierarchy = "checked_at"
