from __future__ import annotations

from django.db import transaction
from ninja import Router

from puan.accounts.schemas import MeOut, PersonOut, TokenIn, TokenOut, UnitBrief
from puan.accounts.selectors import can_see_personal_data, is_read_only, user_get_visible
from puan.accounts.services import pii_access_record, token_issue, token_revoke, user_login
from puan.core.errors import NotAllowed, NotVisible
from puan.core.pii import mask_id_number, mask_phone
from puan.org.selectors import unit_ancestors

router = Router(tags=["accounts"])


@router.post("/auth/token", auth=None, response={200: TokenOut}, summary="Exchange a password for a bearer token")
def token_create(request, payload: TokenIn):
    user = user_login(username=payload.username, password=payload.password, request=request)
    token, record = token_issue(user=user)
    return {"token": token, "expires_at": record.expires_at}


@router.delete("/auth/token", response={204: None}, summary="Revoke the bearer token of this request")
def token_delete(request):
    record = getattr(request.user, "_api_token", None)
    if record is None:
        raise NotAllowed("此请求未使用 API 令牌。")
    token_revoke(token=record, actor=request.user)
    return 204, None


def unit_brief(unit) -> dict | None:
    if unit is None:
        return None
    return {
        "id": unit.pk,
        "name": unit.name,
        "level": unit.level,
        "path": [u.name for u in unit_ancestors(unit)],
        "centroid": list(unit.centroid) if unit.centroid else None,
    }


@router.get("/me", response=MeOut, summary="Who am I: roles and unit")
def me(request):
    user = request.user
    return {
        "username": user.username,
        "display_name": user.display_name,
        "roles": user.role_codes,
        "read_only": is_read_only(user),
        "sees_personal_data": can_see_personal_data(user),
        "unit": unit_brief(user.unit),
    }


@router.get("/users/{user_id}", response=PersonOut, summary="A colleague's profile (personal data masked)")
def user_detail(request, user_id: int, reveal: bool = False):
    """`reveal=true` shows the clear phone and ID number to roles allowed to see personal
    data; every such view is written to the audit log."""
    person = user_get_visible(user=request.user, user_id=user_id)
    if reveal and not can_see_personal_data(request.user):
        raise NotAllowed("当前角色无权查看完整个人信息。")
    with transaction.atomic():
        if reveal and (person.phone or person.id_number):
            pii_access_record(
                viewer=request.user, subject_type="user", subject_id=person.pk, fields=["phone", "id_number"]
            )
        return {
            "id": person.pk,
            "username": person.username,
            "display_name": person.display_name,
            "roles": sorted(g.role for g in person.role_grants.all()),
            "unit_id": person.unit_id,
            "phone": person.phone if reveal else mask_phone(person.phone),
            "id_number": person.id_number if reveal else mask_id_number(person.id_number),
            "revealed": reveal,
        }


__all__ = ["NotVisible", "UnitBrief", "router"]
