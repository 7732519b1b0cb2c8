"""Input and output schemas of /api/v1/command (every field described: the OpenAPI test
checks the whole document)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from ninja import Field as F

from puan.core.schema import RowId, Schema


class Format(StrEnum):
    JSON = "json"
    XLSX = "xlsx"


class Metric(StrEnum):
    REGISTERED = "registered"
    HANDLED = "handled"
    COMPLETION_RATE = "completion_rate"
    ON_TIME_RATE = "on_time_rate"
    TIER_WITHIN_STREET_RATE = "tier_within_street_rate"
    SATISFACTION = "satisfaction"
    OPEN = "open"
    RED = "red"
    OVERDUE = "overdue"


class DepartmentSort(StrEnum):
    ON_TIME_RATE = "on_time_rate"
    HANDLED = "handled"
    OVERDUE = "overdue"
    SATISFACTION = "satisfaction"


_FROM = "First day of the period (local date, YYYY-MM-DD); default: 30 days ending `to`"
_TO = "Last day of the period, included (local date); default: today"
_UNIT = "Unit of the administrative tree (district, street, community or grid); default: my own unit"
_FORMAT = "json, or xlsx for the panel's table as an Excel workbook"


class PanelQuery(Schema):
    unit: int | None = F(None, description=_UNIT)
    from_: date | None = F(None, alias="from", description=_FROM)
    to: date | None = F(None, description=_TO)
    format: Format = F(Format.JSON, description=_FORMAT)


class MapQuery(PanelQuery):
    metric: Metric = F(Metric.ON_TIME_RATE, description="The figure that colours the map (docs/kpis.md)")


class HexQuery(PanelQuery):
    res: int = F(8, ge=5, le=8, description="h3 resolution of the cells, 5 (coarse) to 8 (about 0.7 km²)")


class DepartmentQuery(PanelQuery):
    sort: DepartmentSort = F(DepartmentSort.ON_TIME_RATE, description="Ranking order")


class AlertQuery(Schema):
    unit: int | None = F(None, description=_UNIT)
    after: int | None = F(None, ge=0, description="Only alerts with a larger id (the last id the screen has)")
    unsigned: list[RowId] = F(
        [],
        max_length=100,
        description=(
            "Ids of the alerts the screen shows as not yet signed for (repeat the parameter): "
            "`signed` in the answer says which of them somebody has signed for since"
        ),
    )
    format: Format = F(Format.JSON, description=_FORMAT)


class UnitRef(Schema):
    id: int = F(..., description="Unit id")
    name: str = F(..., description="Unit name")
    level: str = F(..., description="district | street | community | grid")


class PeriodOut(Schema):
    from_: date = F(..., alias="from", description="First day of the period (local date)")
    to: date = F(..., description="Last day of the period, included")


class PanelHead(Schema):
    unit: UnitRef = F(..., description="The unit the figures are about")
    breadcrumb: list[UnitRef] = F(..., description="Its ancestors I may see, top first, ending with itself")
    period: PeriodOut = F(..., description="The period the figures cover")
    as_of: datetime | None = F(
        ..., description="Roll-ups include every case move up to this moment (null: not built yet)"
    )
    generated_at: datetime = F(..., description="When this answer was computed; live figures are as of now")


_RATE = "null when the denominator is 0"


class KpisOut(PanelHead):
    handled_total: int = F(..., description="Cases that have ever reached resolved (累计办结), all time")
    handled: int = F(..., description="Cases whose latest resolution fell in the period (期内办结)")
    registered: int = F(..., description="Cases registered in the period")
    rejected: int = F(..., description="Of those, refused (不予受理)")
    intake: int = F(..., description="registered − rejected: the period's intake")
    done: int = F(..., description="Of the intake, cases resolved or later now")
    completion_rate: float | None = F(..., description=f"done / intake (办结率); {_RATE}")
    on_time: int = F(..., description="Of handled, resolved without a lateness mark in their handling cycle")
    on_time_rate: float | None = F(..., description=f"on_time / handled (按期办结率); {_RATE}")
    tier_community: int = F(..., description="Of handled, resolved at tier 1 (community)")
    tier_street: int = F(..., description="Of handled, resolved at tier 2 (street)")
    tier_district: int = F(..., description="Of handled, resolved at tier 3 (district)")
    tier_community_rate: float | None = F(..., description=f"tier_community / handled (小事不出社区); {_RATE}")
    tier_within_street_rate: float | None = F(
        ..., description=f"(tier_community + tier_street) / handled (大事不出街镇); {_RATE}"
    )
    tier_district_rate: float | None = F(..., description=f"tier_district / handled (结访在区级); {_RATE}")
    rated: int = F(
        ..., description="Of handled, rated after that resolution: by the reporter, or recorded at a callback (回访)"
    )
    satisfaction_avg: float | None = F(..., description=f"Mean rating (1–5) of the rated; {_RATE}")
    open_red: int = F(..., description="Open cases, colour red, as of `as_of`")
    open_orange: int = F(..., description="Open cases, colour orange, as of `as_of`")
    open_yellow: int = F(..., description="Open cases, colour yellow, as of `as_of`")
    open_total: int = F(..., description="Open cases as of `as_of`")
    overdue: int = F(..., description="Open cases now past their resolution deadline (live)")


class MapOut(PanelHead):
    metric: str = F(..., description="The figure on the map")
    metric_label: str = F(..., description="Its Chinese name")
    is_rate: bool = F(..., description="True for a ratio (0–1) or average, false for a count")
    min: float | None = F(..., description="Smallest value over the features")
    max: float | None = F(..., description="Largest value over the features")
    features: dict[str, Any] = F(
        ...,
        description="GeoJSON FeatureCollection of the unit's children (a grid: itself); properties id, name, "
        "level, value (the metric), drillable",
    )


class HexCell(Schema):
    cell: str = F(..., description="h3 cell index (hex)")
    registered: int = F(..., description="Cases registered in the period in this cell")
    outline: list[list[float]] = F(..., description="The hexagon as a closed ring of [lon, lat]")


class HexOut(PanelHead):
    resolution: int = F(..., description="h3 resolution")
    max: int = F(..., description="The largest count of a cell")
    cells: list[HexCell] = F(..., description="Cells with at least one case, busiest first")


class AlertOut(Schema):
    id: int = F(..., description="Alert id; poll with `after` = the largest seen")
    case_id: int = F(..., description="The red case")
    tracking_code: str = F(..., description="Its tracking code")
    title: str = F(..., description="Its title")
    message: str = F(..., description="The alert text")
    risk: str = F(..., description="The case's colour now")
    state: str = F(..., description="The case's state now")
    place: str = F(..., description="Street · community · grid")
    created_at: datetime = F(..., description="When the case turned red")
    acknowledged: bool = F(..., description="Whether somebody in the command centre has signed for it")
    acknowledged_at: datetime | None = F(..., description="When it was signed for; null until then")


class AlertSigned(Schema):
    id: int = F(..., description="Alert id, one of those sent as `unsigned`")
    acknowledged_at: datetime = F(..., description="When it was signed for")


class AlertList(Schema):
    unit: UnitRef = F(..., description="The unit whose alerts these are")
    items: list[AlertOut] = F(..., description="Alerts, newest first")
    signed: list[AlertSigned] = F(
        ..., description="Of the alerts sent as `unsigned`, those of this unit's area signed for meanwhile"
    )
    last_id: int | None = F(..., description="The largest id so far (send as `after` next time)")
    generated_at: datetime = F(..., description="When this answer was computed")


class DepartmentRow(Schema):
    rank: int | None = F(
        ..., description="Position in the ranking; null when too few cases stand behind the rate it is ranked by"
    )
    ranked: bool = F(..., description="Whether enough cases stand behind its rate to rank it (see min_cases)")
    department_id: int = F(..., description="The lead department")
    department: str = F(..., description="Its name")
    handled: int = F(..., description="Latest resolutions in the period it led")
    on_time: int = F(..., description="Of those, on time")
    on_time_rate: float | None = F(..., description=f"on_time / handled; {_RATE}")
    rated: int = F(..., description="Of those, rated")
    satisfaction_avg: float | None = F(..., description=f"Mean rating of the rated; {_RATE}")
    overdue: int = F(..., description="Open cases it leads now past their deadline (live)")


class DepartmentList(PanelHead):
    sort: str = F(..., description="The ranking order")
    min_cases: int = F(..., description="Cases a rate needs behind it to be ranked (handled or rated)")
    items: list[DepartmentRow] = F(..., description="Departments with any case in the period or overdue now")


class TrendDay(Schema):
    day: date = F(..., description="Local date")
    registered: int = F(..., description="Cases registered that day")
    handled: int = F(..., description="Cases whose latest resolution was that day")
    on_time: int = F(..., description="Of those, on time")
    on_time_rate: float | None = F(..., description=f"on_time / handled; {_RATE}")
    done: int = F(..., description="Of the day's intake, resolved or later now")
    completion_rate: float | None = F(..., description=f"done / (registered − rejected) of that day; {_RATE}")


class TrendOut(PanelHead):
    days: list[TrendDay] = F(..., description="One row per day of the period")
