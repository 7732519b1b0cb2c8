from django.contrib import admin

from puan.core.admin_site import PuanModelAdmin, PuanTabularInline
from puan.taxonomy.models import Category, ItemGroup


class CategoryInline(PuanTabularInline):
    model = Category
    fields = ["code", "name", "default_lane", "first_tier", "lead_department", "public", "is_active"]
    raw_id_fields = ["lead_department"]


@admin.register(ItemGroup)
class ItemGroupAdmin(PuanModelAdmin):
    list_display = ["code", "name", "name_en", "sort_order"]
    inlines = [CategoryInline]


@admin.register(Category)
class CategoryAdmin(PuanModelAdmin):
    list_display = ["code", "name", "group", "default_lane", "first_tier", "lead_department", "public", "is_active"]
    list_filter = ["group", "default_lane", "first_tier", "public", "is_active"]
    search_fields = ["code", "name", "keywords"]
    list_select_related = ["group", "lead_department"]
