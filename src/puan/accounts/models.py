from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import connection, models
from django.db.models import Q

from puan.accounts.roles import Role
from puan.core.pii import EncryptedTextField


class User(AbstractUser):
    unit = models.ForeignKey(
        "org.Unit", verbose_name="所属单位", null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    display_name = models.CharField("姓名", max_length=50, blank=True)
    phone = EncryptedTextField("手机号码", blank=True, default="")
    phone_index = models.CharField("手机号索引", max_length=32, blank=True, default="", db_index=True, editable=False)
    id_number = EncryptedTextField("身份证号", blank=True, default="")
    id_number_index = models.CharField(
        "身份证号索引", max_length=32, blank=True, default="", db_index=True, editable=False
    )
    failed_logins = models.PositiveIntegerField("连续登录失败次数", default=0, editable=False)
    locked_until = models.DateTimeField("锁定至", null=True, blank=True)

    objects = UserManager()

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def role_codes(self) -> list[str]:
        cached = getattr(self, "_role_codes", None)
        if cached is None:
            # Read on nearly every request that checks a permission: the statement is
            # written out once rather than built by the ORM each time.
            with connection.cursor() as cursor:
                cursor.execute(_ROLE_CODES_SQL, [self.pk])
                cached = [role for (role,) in cursor.fetchall()]
            self._role_codes = cached
        return cached

    def has_role(self, *roles: str) -> bool:
        return any(r in self.role_codes for r in roles)


# What the user of a request is read without (session or token): the account's phone and
# ID number (decrypted on load) and its unit's boundary. Few requests need them, and those
# read them when they do.
REQUEST_USER_DEFERRED = ("phone", "id_number", "unit__boundary")


class RoleGrant(models.Model):
    user = models.ForeignKey(User, verbose_name="用户", on_delete=models.CASCADE, related_name="role_grants")
    role = models.CharField("角色", max_length=32, choices=Role.choices)
    granted_at = models.DateTimeField("授予时间", auto_now_add=True)

    class Meta:
        verbose_name = "角色授权"
        verbose_name_plural = "角色授权"
        constraints = [
            models.UniqueConstraint(fields=["user", "role"], name="rolegrant_unique"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="rolegrant_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()}"


class ApiToken(models.Model):
    """A bearer token. Only its SHA-256 is stored; the token itself is shown once."""

    user = models.ForeignKey(User, verbose_name="用户", on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField("前缀", max_length=12, editable=False)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    expires_at = models.DateTimeField("过期时间")
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API 令牌"
        verbose_name_plural = "API 令牌"
        indexes = [models.Index(fields=["user", "expires_at"], name="apitoken_user_exp")]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class PiiAccess(models.Model):
    """Audit row for every unmasked view of personal data."""

    user = models.ForeignKey(User, verbose_name="查看人", on_delete=models.PROTECT, related_name="pii_accesses")
    subject_type = models.CharField("对象类型", max_length=50)
    subject_id = models.CharField("对象编号", max_length=50)
    fields = models.CharField("字段", max_length=200)
    purpose = models.CharField("用途", max_length=100, blank=True)
    at = models.DateTimeField("时间", auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "个人信息查看记录"
        verbose_name_plural = "个人信息查看记录"
        indexes = [models.Index(fields=["subject_type", "subject_id"], name="piiaccess_subject")]

    def __str__(self) -> str:
        return f"{self.user} {self.subject_type}#{self.subject_id} {self.fields}"


_ROLE_CODES_SQL = f"SELECT role FROM {RoleGrant._meta.db_table} WHERE user_id = %s ORDER BY role"
