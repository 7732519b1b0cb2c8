from __future__ import annotations

from django.db.models import Q, QuerySet

from puan.accounts.models import User
from puan.accounts.roles import ROLE_SPECS, Role
from puan.accounts.scope import scope_for
from puan.core.errors import NotAllowed, NotVisible


def can_see_personal_data(user) -> bool:
    return any(ROLE_SPECS[r].sees_pii for r in user.role_codes if r in ROLE_SPECS)


def is_read_only(user) -> bool:
    specs = [ROLE_SPECS[r] for r in user.role_codes if r in ROLE_SPECS]
    return not specs or all(s.read_only for s in specs)


def works_at_a_unit(user) -> bool:
    """Staff, who use the workbench: someone who belongs to a unit in a role of its work.
    A volunteer attached to a grid reports and follows their reports as a citizen does."""
    roles = set(user.role_codes)
    return user.unit_id is not None and not (roles and roles <= {Role.VOLUNTEER})


def require_writer(user) -> None:
    if is_read_only(user):
        raise NotAllowed("当前角色为只读，不能进行此操作。")


def user_list_visible_to(*, user) -> QuerySet[User]:
    """People in the user's units; everyone sees themselves."""
    scope = scope_for(user)
    q = scope.q(path="unit__path", department="unit_id", owner="pk") | Q(pk=user.pk)
    return User.objects.filter(q, is_active=True).select_related("unit").prefetch_related("role_grants")


def user_get_visible(*, user, user_id: int) -> User:
    found = user_list_visible_to(user=user).filter(pk=user_id).first()
    if found is None:
        raise NotVisible("用户不存在或无权查看。")
    return found
