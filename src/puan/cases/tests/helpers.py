"""Shared builders for case tests."""

from __future__ import annotations

from puan.accounts.roles import Role
from puan.accounts.tests.factories import make_user
from puan.cases.services import IntakeInput, case_intake

# Points inside the small test tree's grids (see org.tests.factories.build_tree).
IN_GRID_A1 = (113.405, 23.105)
IN_GRID_A2 = (113.415, 23.105)
IN_GRID_B1 = (113.425, 23.105)


def intake(actor, *, category="G15-01", lon_lat=IN_GRID_A1, kind="dispute", channel="patrol", **extra):
    lon, lat = lon_lat if lon_lat else (None, None)
    data = IntakeInput(
        kind=kind,
        channel=channel,
        category_code=category,
        title=extra.pop("title", "邻里噪音纠纷"),
        description=extra.pop("description", "楼上住户夜间噪音，双方多次争吵。"),
        lon=lon,
        lat=lat,
        **extra,
    )
    return case_intake(actor=actor, data=data)


class People:
    """One user per role of the test tree, created on first use."""

    def __init__(self, tree):
        self.tree = tree
        self._cache = {}

    def _get(self, key, *roles, unit):
        if key not in self._cache:
            self._cache[key] = make_user(*roles, unit=unit, username=key)
        return self._cache[key]

    @property
    def grid_worker(self):
        return self._get("grid_a1", Role.GRID_WORKER, unit=self.tree.grid_a1)

    @property
    def community(self):
        return self._get("community_a", Role.UNIT_HANDLER, unit=self.tree.community_a)

    @property
    def other_community(self):
        return self._get("community_b", Role.UNIT_HANDLER, unit=self.tree.community_b)

    @property
    def street(self):
        return self._get("street_a", Role.UNIT_HANDLER, unit=self.tree.street_a)

    @property
    def other_street(self):
        return self._get("street_b", Role.UNIT_HANDLER, unit=self.tree.street_b)

    @property
    def dispatcher(self):
        return self._get("dispatcher", Role.DISPATCHER, unit=self.tree.district)

    @property
    def leader(self):
        return self._get("leader", Role.LEADER, unit=self.tree.district)

    @property
    def justice(self):
        return self._get("justice", Role.DEPARTMENT_HANDLER, unit=self.tree.justice)

    @property
    def police(self):
        return self._get("police", Role.DEPARTMENT_HANDLER, unit=self.tree.police)

    @property
    def volunteer(self):
        return self._get("volunteer", Role.VOLUNTEER, unit=self.tree.grid_a1)
