"""A small district for tests: two streets, each with a community of two grids, and
departments. Boundaries are unit squares so points are easy to reason about."""

from __future__ import annotations

from dataclasses import dataclass

from puan.org.models import Unit, UnitLevel
from puan.org.services import unit_create


def square(x0: float, y0: float, size: float = 0.01) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [[[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]],
    }


@dataclass
class Tree:
    district: Unit
    street_a: Unit
    street_b: Unit
    community_a: Unit
    community_b: Unit
    grid_a1: Unit
    grid_a2: Unit
    grid_b1: Unit
    justice: Unit
    police: Unit


def build_tree() -> Tree:
    """District outline 113.40–113.44 × 23.10–23.12; grids are 0.01° squares inside it."""
    district = unit_create(
        code="D",
        name="黄埔区",
        level=UnitLevel.DISTRICT,
        parent=None,
        boundary={
            "type": "Polygon",
            "coordinates": [[[113.40, 23.10], [113.44, 23.10], [113.44, 23.12], [113.40, 23.12], [113.40, 23.10]]],
        },
    )
    street_a = unit_create(code="S1", name="长洲街", level=UnitLevel.STREET, parent=district)
    street_b = unit_create(code="S2", name="云埔街", level=UnitLevel.STREET, parent=district)
    community_a = unit_create(code="C1", name="深井社区", level=UnitLevel.COMMUNITY, parent=street_a)
    community_b = unit_create(code="C2", name="刘村", level=UnitLevel.COMMUNITY, parent=street_b, kind="village")
    grid_a1 = unit_create(
        code="G11", name="深井社区第01网格", level=UnitLevel.GRID, parent=community_a, boundary=square(113.40, 23.10)
    )
    grid_a2 = unit_create(
        code="G12", name="深井社区第02网格", level=UnitLevel.GRID, parent=community_a, boundary=square(113.41, 23.10)
    )
    grid_b1 = unit_create(
        code="G21", name="刘村第01网格", level=UnitLevel.GRID, parent=community_b, boundary=square(113.42, 23.10)
    )
    justice = unit_create(
        code="dept.justice", name="区司法局", level=UnitLevel.DEPARTMENT, parent=district, stationing="permanent"
    )
    police = unit_create(
        code="dept.police", name="公安分局", level=UnitLevel.DEPARTMENT, parent=district, stationing="permanent"
    )
    return Tree(district, street_a, street_b, community_a, community_b, grid_a1, grid_a2, grid_b1, justice, police)
