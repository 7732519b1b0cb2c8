"""Every write about people: accounts, roles, logins, tokens, personal-data access."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from puan.accounts.models import REQUEST_USER_DEFERRED, ApiToken, PiiAccess, RoleGrant, User
from puan.accounts.roles import ROLE_SPECS, Role
from puan.core.errors import AccountLocked, InvalidInput, NotAuthenticated
from puan.core.pii import blind_index, is_valid_id_number, is_valid_phone
from puan.org.models import Unit

TOKEN_PREFIX = "pua_"


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str | None,
    unit: Unit | None,
    roles: list[str],
    display_name: str = "",
    phone: str = "",
    id_number: str = "",
    password_hash: str | None = None,
) -> User:
    unknown = [r for r in roles if r not in Role.values]
    if unknown:
        raise InvalidInput(f"未知角色：{', '.join(unknown)}。", field="roles")
    if unit is None and any(r != Role.VOLUNTEER for r in roles):
        raise InvalidInput("工作人员必须属于一个组织单位。", field="unit")
    if User.objects.filter(username=username).exists():
        raise InvalidInput(f"用户名 {username} 已存在。", field="username")
    user = User(username=username, unit=unit, display_name=display_name)
    _set_personal_data(user, phone=phone, id_number=id_number)
    user.password = password_hash or make_password(password)
    user.is_staff = any(ROLE_SPECS[r].admin_site for r in roles)
    user.save()
    RoleGrant.objects.bulk_create([RoleGrant(user=user, role=r) for r in dict.fromkeys(roles)])
    return user


def _set_personal_data(user: User, *, phone: str, id_number: str) -> None:
    if phone and not is_valid_phone(phone):
        raise InvalidInput("手机号码格式不正确。", field="phone")
    if id_number and not is_valid_id_number(id_number):
        raise InvalidInput("身份证号码格式或校验位不正确。", field="id_number")
    user.phone = phone
    user.phone_index = blind_index("phone", phone)
    user.id_number = id_number
    user.id_number_index = blind_index("id_number", id_number)


@transaction.atomic
def user_set_roles(*, user: User, roles: list[str], actor: User | None) -> User:
    unknown = [r for r in roles if r not in Role.values]
    if unknown:
        raise InvalidInput(f"未知角色：{', '.join(unknown)}。", field="roles")
    RoleGrant.objects.filter(user=user).exclude(role__in=roles).delete()
    have = set(RoleGrant.objects.filter(user=user).values_list("role", flat=True))
    RoleGrant.objects.bulk_create([RoleGrant(user=user, role=r) for r in roles if r not in have])
    User.objects.filter(pk=user.pk).update(is_staff=any(ROLE_SPECS[r].admin_site for r in roles))
    user.__dict__.pop("_role_codes", None)
    user.__dict__.pop("_data_scope", None)
    return user


# --- logging in -----------------------------------------------------------------------


def user_login(*, username: str, password: str, request=None) -> User:
    """Check a password, counting failures; too many in a row lock the account.

    A locked account is refused even with the right password until the lock expires,
    so guessing cannot continue behind the lock.
    """
    now = timezone.now()
    candidate = User.objects.filter(username=username).first()
    if candidate is not None and candidate.locked_until and candidate.locked_until > now:
        raise AccountLocked(_locked_message(candidate.locked_until))
    user = authenticate(request, username=username, password=password)
    if user is None:
        if candidate is not None:
            _record_failure(candidate, now)
        raise NotAuthenticated("用户名或密码错误。")
    if user.failed_logins or user.locked_until:
        User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
    return user


def _record_failure(user: User, now: datetime) -> None:
    User.objects.filter(pk=user.pk).update(failed_logins=F("failed_logins") + 1)
    failures = User.objects.filter(pk=user.pk).values_list("failed_logins", flat=True).get()
    if failures >= settings.PUAN_LOCKOUT_THRESHOLD:
        until = now + timedelta(minutes=settings.PUAN_LOCKOUT_MINUTES)
        User.objects.filter(pk=user.pk).update(locked_until=until, failed_logins=0)
        raise AccountLocked(_locked_message(until))


def _locked_message(until: datetime) -> str:
    local = timezone.localtime(until).strftime("%H:%M")
    return f"登录失败次数过多，账号已锁定至 {local}，请稍后再试或联系管理员。"


@transaction.atomic
def user_unlock(*, user: User, actor: User | None) -> None:
    User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)


# --- API tokens -----------------------------------------------------------------------


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_issue(*, user: User, ttl: timedelta | None = None) -> tuple[str, ApiToken]:
    """A new bearer token; the clear token is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ttl = ttl or timedelta(hours=settings.PUAN_TOKEN_TTL_HOURS)
    record = ApiToken.objects.create(
        user=user, key_hash=_hash_token(token), prefix=token[:12], expires_at=timezone.now() + ttl
    )
    return token, record


def token_authenticate(token: str) -> User | None:
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    now = timezone.now()
    record = (
        ApiToken.objects.select_related("user", "user__unit")
        .defer(*(f"user__{name}" for name in REQUEST_USER_DEFERRED))
        .filter(key_hash=_hash_token(token), revoked_at__isnull=True, expires_at__gt=now)
        .first()
    )
    if record is None or not record.user.is_active:
        return None
    # Touch at most once a minute: a hot token must not turn every read into a write.
    if record.last_used_at is None or now - record.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=record.pk).update(last_used_at=now)
    record.user._api_token = record
    return record.user


def token_revoke(*, token: ApiToken, actor: User) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def tokens_revoke_all(*, user: User, actor: User) -> int:
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


# --- personal data --------------------------------------------------------------------


def pii_access_record(
    *, viewer: User, subject_type: str, subject_id: str, fields: list[str], purpose: str = ""
) -> None:
    PiiAccess.objects.create(
        user=viewer, subject_type=subject_type, subject_id=str(subject_id), fields=",".join(fields), purpose=purpose
    )
