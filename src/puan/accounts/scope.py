"""Data scope: which rows a user may see.

A user's scope is the union of the scopes of their roles:
- unit_and_below: the subtree of their unit (本单位及以下);
- department: what is assigned to their department (their unit is the department);
- own: what they themselves created.
Each model says which of its fields carries the unit path, the department and the
owner; `DataScope.q` turns the union into one filter for that model.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.db.models import Q

from puan.accounts.roles import ROLE_SPECS, ScopeKind
from puan.org.models import UnitLevel, subtree_q


@dataclass(frozen=True)
class DataScope:
    unit_paths: frozenset[str] = frozenset()
    department_ids: frozenset[int] = frozenset()
    owner_id: int | None = None

    @property
    def is_empty(self) -> bool:
        return not self.unit_paths and not self.department_ids and self.owner_id is None

    def q(self, *, path: str | None = None, department: str | None = None, owner: str | None = None) -> Q:
        """A filter matching exactly the rows in scope; matches nothing for an empty scope.

        `path` names the field holding the row's unit path, `department` a field (or a
        lookup through a relation) holding a department unit id, `owner` a user id field.
        A scope kind the model has no field for contributes nothing.
        """
        parts: list[Q] = []
        if path:
            parts += [subtree_q(p, path) for p in sorted(self._roots())]
        if department and self.department_ids:
            parts.append(Q(**{f"{department}__in": sorted(self.department_ids)}))
        if owner and self.owner_id is not None:
            parts.append(Q(**{owner: self.owner_id}))
        if not parts:
            return Q(pk__in=[])
        return reduce(or_, parts)

    def _roots(self) -> set[str]:
        # A subtree inside another adds nothing to the filter.
        paths = sorted(self.unit_paths)
        return {p for p in paths if not any(p != o and p.startswith(o) for o in paths)}

    def covers_path(self, unit_path: str) -> bool:
        return any(unit_path.startswith(p) for p in self.unit_paths)


def scope_for(user) -> DataScope:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return DataScope()
    cached = getattr(user, "_data_scope", None)
    if cached is not None:
        return cached
    unit = user.unit
    unit_paths: set[str] = set()
    departments: set[int] = set()
    owner_id = None
    for role in user.role_codes:
        spec = ROLE_SPECS.get(role)
        if spec is None:
            continue
        if spec.scope == ScopeKind.OWN:
            owner_id = user.pk
        elif unit is None:
            continue
        elif spec.scope == ScopeKind.UNIT_AND_BELOW:
            unit_paths.add(unit.path)
        elif spec.scope == ScopeKind.DEPARTMENT and unit.level == UnitLevel.DEPARTMENT:
            departments.add(unit.pk)
    scope = DataScope(frozenset(unit_paths), frozenset(departments), owner_id)
    user._data_scope = scope
    return scope
