"""Roles and what each may see and do. One table, read by selectors and services."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "系统管理员"
    DISPATCHER = "dispatcher", "指挥中心调度员"
    UNIT_HANDLER = "unit_handler", "街镇/社区工作人员"
    GRID_WORKER = "grid_worker", "网格员"
    DEPARTMENT_HANDLER = "department_handler", "部门工作人员"
    MEDIATOR = "mediator", "调解员"
    LEADER = "leader", "领导"
    VOLUNTEER = "volunteer", "志愿者"


class ScopeKind(StrEnum):
    UNIT_AND_BELOW = "unit_and_below"  # 本单位及以下
    DEPARTMENT = "department"  # 交办给本部门的
    OWN = "own"  # 仅本人


@dataclass(frozen=True)
class RoleSpec:
    scope: ScopeKind
    read_only: bool
    sees_pii: bool
    admin_site: bool = False


ROLE_SPECS: dict[str, RoleSpec] = {
    Role.ADMIN: RoleSpec(ScopeKind.UNIT_AND_BELOW, read_only=False, sees_pii=True, admin_site=True),
    Role.DISPATCHER: RoleSpec(ScopeKind.UNIT_AND_BELOW, read_only=False, sees_pii=True),
    Role.UNIT_HANDLER: RoleSpec(ScopeKind.UNIT_AND_BELOW, read_only=False, sees_pii=True),
    Role.GRID_WORKER: RoleSpec(ScopeKind.UNIT_AND_BELOW, read_only=False, sees_pii=False),
    Role.DEPARTMENT_HANDLER: RoleSpec(ScopeKind.DEPARTMENT, read_only=False, sees_pii=True),
    Role.MEDIATOR: RoleSpec(ScopeKind.DEPARTMENT, read_only=False, sees_pii=True),
    Role.LEADER: RoleSpec(ScopeKind.UNIT_AND_BELOW, read_only=True, sees_pii=False),
    Role.VOLUNTEER: RoleSpec(ScopeKind.OWN, read_only=False, sees_pii=False),
}
