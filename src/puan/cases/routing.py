"""Where a case goes: lane and tier from the category and the colour, the owner unit from
the grid's ancestry, the lead department from the category."""

from __future__ import annotations

from dataclasses import dataclass

from puan.cases.models import Risk
from puan.org.models import PATH_SEGMENT_WIDTH, Unit, UnitLevel
from puan.org.selectors import area_units
from puan.taxonomy.models import Category, Lane, Tier

# The least tier a colour demands: red goes straight to the district (终诊),
# orange needs at least the street's joint handling (会诊).
MIN_TIER_FOR_RISK = {Risk.RED: Tier.DISTRICT, Risk.ORANGE: Tier.STREET, Risk.YELLOW: Tier.COMMUNITY}
TIER_LEVEL = {Tier.COMMUNITY: UnitLevel.COMMUNITY, Tier.STREET: UnitLevel.STREET, Tier.DISTRICT: UnitLevel.DISTRICT}


@dataclass(frozen=True)
class Route:
    lane: str
    tier: int


def route(category: Category, risk: str) -> Route:
    tier = max(int(category.first_tier), int(MIN_TIER_FOR_RISK[Risk(risk)]))
    return Route(lane=lane_for_risk(category.default_lane, risk), tier=tier)


def lane_for_risk(lane: str, risk: str) -> str:
    """A red case is handled urgently unless it is one of the hard, long-running kinds."""
    return Lane.URGENT if risk == Risk.RED and lane in (Lane.SIMPLE, Lane.COMPLEX) else lane


def unit_at_tier(area_path: str, tier: int) -> Unit:
    """The unit that owns cases of this area at this tier: the community, the street or
    the district above the place where the case happened (from the process's copy of the
    units above the grids)."""
    depth = {Tier.COMMUNITY: 3, Tier.STREET: 2, Tier.DISTRICT: 1}[Tier(tier)]
    depth = min(depth, len(area_path) // PATH_SEGMENT_WIDTH)
    path = area_path[: depth * PATH_SEGMENT_WIDTH]
    found = area_units(area_path).get(path)
    if found is None:
        raise Unit.DoesNotExist(f"no unit at {path}")
    return found
