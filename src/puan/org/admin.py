from __future__ import annotations

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from puan.core.admin_site import PuanModelAdmin
from puan.core.errors import InvalidInput
from puan.org.models import PoliceUnit, Unit
from puan.org.services import unit_create, unit_move


class UnitForm(forms.ModelForm):
    class Meta:
        model = Unit
        fields = ["code", "name", "level", "kind", "parent", "stationing", "boundary", "is_active", "sort_order"]


@admin.register(Unit)
class UnitAdmin(PuanModelAdmin):
    form = UnitForm
    list_display = ["tree_name", "code", "level", "kind", "stationing", "children_link", "is_active"]
    list_filter = ["level", "kind", "stationing", "is_active"]
    search_fields = ["name", "code"]
    list_per_page = 100
    raw_id_fields = ["parent", "police_office"]
    readonly_fields = ["path", "depth", "centroid_lon", "centroid_lat", "created_at", "updated_at"]
    ordering = ["path"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("boundary")

    @admin.display(description="名称", ordering="path")
    def tree_name(self, obj: Unit):
        return format_html('<span style="padding-left:{}em">{}</span>', (obj.depth - 1) * 1.5, obj.name)

    @admin.display(description="下级单位")
    def children_link(self, obj: Unit):
        url = reverse("admin:org_unit_changelist") + f"?parent__id__exact={obj.pk}"
        return format_html('<a href="{}">查看下级</a>', url)

    def save_model(self, request, obj: Unit, form, change):
        # Paths and geo versions are kept by the services, never by a bare save().
        try:
            if not change:
                created = unit_create(
                    code=obj.code,
                    name=obj.name,
                    level=obj.level,
                    parent=obj.parent,
                    kind=obj.kind,
                    stationing=obj.stationing,
                    boundary=obj.boundary,
                    sort_order=obj.sort_order,
                )
                obj.pk = created.pk
                return
            old_parent_id = Unit.objects.values_list("parent_id", flat=True).get(pk=obj.pk)
            super().save_model(request, obj, form, change)
            if obj.parent_id != old_parent_id and obj.parent is not None:
                unit_move(unit=obj, new_parent=obj.parent)
        except InvalidInput as exc:
            self.message_user(request, exc.message, level="error")
            raise


@admin.register(PoliceUnit)
class PoliceUnitAdmin(PuanModelAdmin):
    list_display = ["name", "code", "level", "parent", "grid"]
    list_filter = ["level"]
    search_fields = ["name", "code"]
    raw_id_fields = ["parent", "grid"]
    list_select_related = ["parent", "grid"]
