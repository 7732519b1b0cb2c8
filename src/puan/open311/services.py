"""Every write of the Open311 app: client systems and their keys, and taking a GeoReport v2
POST in through the one intake pipeline (`intake_prepare`, `intake_commit`)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.utils import timezone

from puan.cases.models import Case, CaseKind, Channel
from puan.cases.services import IntakeInput, intake_commit, intake_prepare
from puan.core.errors import InvalidInput, NotAuthenticated
from puan.open311.attributes import facts_from_answers
from puan.open311.models import ClientSystem, Open311Request
from puan.open311.selectors import service_get, unit_for_address, unit_for_address_id
from puan.taxonomy.models import Category, Lane

DEMO_CLIENT_NAME = "12345 市民服务热线平台"
KEY_PREFIX = "p311_"

# Which kind of case a report of each item group is (the taxonomy carries no kind).
GROUP_KIND = {
    "G01": CaseKind.APPEAL,
    "G02": CaseKind.EVENT,
    "G03": CaseKind.EVENT,
    "G04": CaseKind.EVENT,
    "G05": CaseKind.HAZARD,
    "G06": CaseKind.HAZARD,
    "G07": CaseKind.EVENT,
    "G08": CaseKind.DISPUTE,
    "G09": CaseKind.HAZARD,
    "G10": CaseKind.EVENT,
    "G11": CaseKind.EVENT,
    "G12": CaseKind.APPEAL,
    "G13": CaseKind.APPEAL,
    "G14": CaseKind.HAZARD,
    "G15": CaseKind.DISPUTE,
    "G16": CaseKind.PETITION,
}
# An urgent report in these groups is happening now (a fire, a gas leak): an emergency.
EMERGENCY_GROUPS = {"G05", "G06", "G09", "G14"}

# Intake's field names → the Open311 parameter the client sent.
_FIELD_NAMES = {
    "lon": "long",
    "lat": "lat",
    "unit_id": "address_id",
    "category": "service_code",
    "reporter_phone": "phone",
    "title": "description",
    "channel": "service_code",
}


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


# --- client systems -------------------------------------------------------------------


@transaction.atomic
def client_system_create(
    *, name: str, contact: str = "", note: str = "", rate_per_minute: int | None = None, now: datetime | None = None
) -> tuple[ClientSystem, str]:
    """Register an outside system. Returns (client, key): the key is not stored and
    cannot be shown again, only replaced (`client_system_rotate_key`)."""
    name = name.strip()
    if not name:
        raise InvalidInput("请填写接入系统名称。", field="name")
    if ClientSystem.objects.filter(name=name).exists():
        raise InvalidInput(f"接入系统“{name}”已存在。", field="name")
    now = now or timezone.now()
    key = _new_key()
    client = ClientSystem.objects.create(
        name=name[:100],
        contact=contact.strip()[:200],
        note=note.strip(),
        rate_per_minute=rate_per_minute,
        key_hash=key_digest(key),
        key_prefix=key[:12],
        created_at=now,
        key_issued_at=now,
    )
    return client, key


@transaction.atomic
def client_system_rotate_key(*, client: ClientSystem, now: datetime | None = None) -> str:
    """Issue a new key; the old one stops working at once. A revoked client stays revoked."""
    key = _new_key()
    ClientSystem.objects.filter(pk=client.pk).update(
        key_hash=key_digest(key), key_prefix=key[:12], key_issued_at=now or timezone.now()
    )
    client.refresh_from_db()
    return key


@transaction.atomic
def client_system_revoke(*, client: ClientSystem, now: datetime | None = None) -> ClientSystem:
    ClientSystem.objects.filter(pk=client.pk, revoked_at__isnull=True).update(revoked_at=now or timezone.now())
    client.refresh_from_db()
    return client


def client_system_authenticate(*, key: str | None) -> ClientSystem:
    """The active client holding `key`, or `NotAuthenticated` saying what is wrong."""
    if not key:
        raise NotAuthenticated("未提供 api_key。", field="api_key")
    client = ClientSystem.objects.filter(key_hash=key_digest(key)).first()
    if client is None:
        raise NotAuthenticated("api_key 无效。", field="api_key")
    if client.revoked_at is not None:
        raise NotAuthenticated("api_key 已停用，请联系系统管理员。", field="api_key")
    return client


@transaction.atomic
def open311_demo_client(*, key: str) -> ClientSystem:
    """The demo's 12345 hotline platform, holding exactly `key` (PUAN_DEMO_OPEN311_KEY).

    Idempotent: a second call finds the same client and makes sure the key matches and
    the client is active, so the key the demo prints always works."""
    if not key:
        raise InvalidInput("演示密钥不能为空。", field="key")
    now = timezone.now()
    client, _ = ClientSystem.objects.get_or_create(
        name=DEMO_CLIENT_NAME,
        defaults={
            "contact": "12345 热线平台运维值班室",
            "note": "演示数据：make demo 创建，密钥为 PUAN_DEMO_OPEN311_KEY。",
            "key_hash": key_digest(key),
            "key_prefix": key[:12],
            "created_at": now,
            "key_issued_at": now,
        },
    )
    if client.key_hash != key_digest(key) or client.revoked_at is not None:
        ClientSystem.objects.filter(pk=client.pk).update(
            key_hash=key_digest(key), key_prefix=key[:12], key_issued_at=now, revoked_at=None
        )
        client.refresh_from_db()
    return client


# --- rate limits ----------------------------------------------------------------------


def post_limit_for(client: ClientSystem) -> int:
    if client.rate_per_minute is not None:
        return client.rate_per_minute
    return int(getattr(settings, "PUAN_OPEN311_RATE_PER_MINUTE", 60))


def get_limit() -> int:
    return int(getattr(settings, "PUAN_OPEN311_GET_RATE_PER_MINUTE", 600))


# --- POST requests --------------------------------------------------------------------


@dataclass
class SubmitInput:
    service_code: str
    lat: float | None = None
    long: float | None = None
    address_string: str = ""
    address_id: str = ""
    attributes: dict[str, list[str]] = field(default_factory=dict)
    description: str = ""
    media_url: str = ""
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    device_id: str = ""
    account_id: str = ""


@dataclass
class SubmitResult:
    request: Open311Request
    case: Case
    linked: bool


def _reporter_name(first: str, last: str) -> str:
    first, last = first.strip(), last.strip()
    if (first + last).isascii():
        return " ".join(p for p in (first, last) if p)
    return last + first  # Chinese order: family name first, no space


def _check_optional_fields(data: SubmitInput) -> None:
    if data.email:
        try:
            validate_email(data.email.strip())
        except ValidationError:
            raise InvalidInput("email 格式不正确。", field="email") from None
    if data.media_url:
        if len(data.media_url) > 500:
            raise InvalidInput("media_url 不能超过 500 个字符。", field="media_url")
        try:
            URLValidator(schemes=["http", "https"])(data.media_url.strip())
        except ValidationError:
            raise InvalidInput("media_url 须为 http 或 https 链接。", field="media_url") from None
    for name in ("device_id", "account_id"):
        if len(getattr(data, name)) > 100:
            raise InvalidInput(f"{name} 不能超过 100 个字符。", field=name)
    if len(data.first_name) + len(data.last_name) > 50:
        raise InvalidInput("first_name 与 last_name 合计不能超过 50 个字符。", field="first_name")
    if len(data.description) > 4000:
        raise InvalidInput("description 不能超过 4000 个字符。", field="description")


def _place(data: SubmitInput) -> dict:
    """Where the report is, as intake wants it: coordinates, or the unit an address names."""
    if data.lat is not None or data.long is not None:
        if data.lat is None or data.long is None:
            missing = "long" if data.long is None else "lat"
            raise InvalidInput(f"lat 与 long 须同时提供，缺少 {missing}。", field=missing)
        return {"lon": data.long, "lat": data.lat}
    if data.address_id.strip():
        unit = unit_for_address_id(data.address_id.strip())
        if unit is None:
            raise InvalidInput(f"address_id {data.address_id!r} 不是本区的网格、社区或街镇编码。", field="address_id")
        return {"unit_id": unit.pk}
    if data.address_string.strip():
        unit = unit_for_address(data.address_string)
        if unit is None:
            raise InvalidInput(
                "无法根据 address_string 确定位置：地址中须包含本区的街道(镇)、社区(村)或网格名称，"
                "或改为提供 lat/long 或 address_id。",
                field="address_string",
            )
        return {"unit_id": unit.pk}
    raise InvalidInput("缺少位置：请提供 lat 和 long、address_string 或 address_id 之一。", field="lat")


def _title(category: Category, description: str) -> str:
    first_line = description.strip().splitlines()[0].strip() if description.strip() else ""
    return (first_line[:60] or category.name)[:200]


def _description(category: Category, data: SubmitInput) -> str:
    text = data.description.strip() or f"{category.name}（未填写描述）"
    # Handlers read the case, not the Open311 row: show them the media link in the case,
    # as the spec suggests, when it still fits intake's 4,000 characters.
    if data.media_url:
        with_media = f"{text}\n\n媒体链接：{data.media_url.strip()}"
        if len(with_media) <= 4000:
            text = with_media
    return text


def request_submit(*, client: ClientSystem, data: SubmitInput, now: datetime | None = None) -> SubmitResult:
    """Take one Open311 report in through intake as an anonymous citizen report
    (channel `online`) and record which client sent it, under a fresh token.

    Errors carry the Open311 parameter name as `field` (`long`, `phone`, `attribute[x]` …).
    An unknown or non-public service is `NotVisible` (the spec's 404)."""
    now = now or timezone.now()
    code = data.service_code.strip()
    if not code:
        raise InvalidInput("缺少 service_code。", field="service_code")
    category, attributes = service_get(code=code)
    _check_optional_fields(data)
    facts, answers = facts_from_answers(attributes, data.attributes)
    place = _place(data)
    kind = GROUP_KIND.get(category.group.code, CaseKind.APPEAL)
    if category.default_lane == Lane.URGENT and category.group.code in EMERGENCY_GROUPS:
        kind = CaseKind.EMERGENCY
    intake = IntakeInput(
        kind=kind,
        channel=Channel.ONLINE,
        category_code=category.code,
        title=_title(category, data.description),
        description=_description(category, data),
        address=data.address_string.strip()[:300],
        facts=facts,
        reporter_name=_reporter_name(data.first_name, data.last_name),
        reporter_phone=data.phone.strip(),
        **place,
    )
    try:
        # Reads before the write transaction (on SQLite, the one write lock), as every
        # intake does; the duplicate check and the rows inside it.
        plan = intake_prepare(actor=None, data=intake, now=now)
        with transaction.atomic():
            result = intake_commit(plan)
            row = Open311Request.objects.create(
                case=result.case,
                client=client,
                token=secrets.token_urlsafe(18),
                service_code=category.code,
                linked=result.linked,
                attributes=answers,
                media_url=data.media_url.strip(),
                device_id=data.device_id.strip(),
                account_id=data.account_id.strip(),
                email=data.email.strip(),
                created_at=now,
            )
    except InvalidInput as exc:
        exc.field = _FIELD_NAMES.get(exc.field or "", exc.field)
        raise
    return SubmitResult(request=row, case=result.case, linked=result.linked)
