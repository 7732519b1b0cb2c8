from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from puan.accounts.models import ApiToken, PiiAccess, RoleGrant, User
from puan.core.admin_site import PuanModelAdmin, PuanReadOnlyAdmin, PuanTabularInline
from puan.core.pii import mask_id_number, mask_phone


class RoleGrantInline(PuanTabularInline):
    model = RoleGrant


@admin.register(User)
class UserAdmin(PuanModelAdmin, DjangoUserAdmin):
    list_display = ["username", "display_name", "unit", "roles", "masked_phone", "is_active", "locked_until"]
    list_filter = ["is_active", "role_grants__role"]
    search_fields = ["username", "display_name"]
    raw_id_fields = ["unit"]
    list_select_related = ["unit"]
    inlines = [RoleGrantInline]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("个人信息", {"fields": ("display_name", "unit", "email")}),
        ("状态", {"fields": ("is_active", "failed_logins", "locked_until", "last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("username", "unit", "password1", "password2")}),)
    readonly_fields = ["failed_logins", "last_login", "date_joined"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("role_grants")

    @admin.display(description="角色")
    def roles(self, obj: User):
        return "、".join(g.get_role_display() for g in obj.role_grants.all())

    @admin.display(description="手机号码")
    def masked_phone(self, obj: User):
        return mask_phone(obj.phone) if obj.phone else ""

    @admin.display(description="身份证号")
    def masked_id(self, obj: User):
        return mask_id_number(obj.id_number) if obj.id_number else ""


@admin.register(ApiToken)
class ApiTokenAdmin(PuanModelAdmin):
    list_display = ["prefix", "user", "created_at", "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["revoked_at"]
    raw_id_fields = ["user"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    actions = ["revoke"]

    @admin.action(description="吊销所选令牌")
    def revoke(self, request, queryset):
        from django.utils import timezone

        queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


@admin.register(PiiAccess)
class PiiAccessAdmin(PuanReadOnlyAdmin):
    list_display = ["at", "user", "subject_type", "subject_id", "fields", "purpose"]
    list_filter = ["subject_type"]
    date_hierarchy = "at"
