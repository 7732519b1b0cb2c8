"""The administration site: only users holding the administrator role may enter, and
they may manage every registered model without per-model Django permissions."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


def is_administrator(user) -> bool:
    if not (user.is_active and user.is_authenticated):
        return False
    if user.is_superuser:
        return True
    return "admin" in getattr(user, "role_codes", [])


class PuanAdminSite(admin.AdminSite):
    site_header = "埔安 · 社会治理综合平台"
    site_title = "埔安管理后台"
    index_title = "系统管理"

    def has_permission(self, request) -> bool:
        return is_administrator(request.user)


class PuanAdminConfig(AdminConfig):
    default_site = "puan.core.admin_site.PuanAdminSite"


class PuanModelAdmin(admin.ModelAdmin):
    """Administrators may do everything here; the site itself refuses other roles."""

    def has_module_permission(self, request) -> bool:
        return is_administrator(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return is_administrator(request.user)

    def has_add_permission(self, request) -> bool:
        return is_administrator(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return is_administrator(request.user)

    def has_delete_permission(self, request, obj=None) -> bool:
        return is_administrator(request.user)


class PuanTabularInline(admin.TabularInline):
    extra = 0

    def has_view_permission(self, request, obj=None) -> bool:
        return is_administrator(request.user)

    def has_add_permission(self, request, obj=None) -> bool:
        return is_administrator(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return is_administrator(request.user)

    def has_delete_permission(self, request, obj=None) -> bool:
        return is_administrator(request.user)


class PuanReadOnlyAdmin(PuanModelAdmin):
    """Rows the system writes (cases and their timelines, orders, audit trails, what
    clients sent): administrators look them up, never add or edit them here, and delete
    them only where `deletable` says so (logs an administrator may clear)."""

    deletable = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.deletable and super().has_delete_permission(request, obj)


class PuanReadOnlyInline(PuanTabularInline):
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
