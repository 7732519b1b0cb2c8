"""The command centre's reads, scoped to the user asking. Each panel of the dashboard is
one function here; the API and the page call them. Definitions: docs/kpis.md.

Figures over a period, and open cases by colour, come from the roll-ups (`DailyRollup`
and friends) — a few hundred rows, never the case table; they are as fresh as the last
fold (`as_of`). Overdue now and the red-case feed are live queries that ride the case
table's indexes and touch only the few cases they count.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Substr
from django.utils import timezone

from puan.accounts.scope import scope_for
from puan.cases.models import OPEN_STATES, Case, CommandAlert, Risk, past_due_q
from puan.command.definitions import DAILY_FIELDS, DEPARTMENT_FIELDS, HEX_LEVELS, HEX_RESOLUTION, OPEN_FIELDS
from puan.command.geo import unit_geometries
from puan.command.models import (
    CaseFact,
    DailyRollup,
    DepartmentDailyRollup,
    HexRollup,
    HexSpan,
    OpenRollup,
    RollupState,
)
from puan.core.errors import InvalidInput, NotAllowed, NotVisible
from puan.org.models import LEVEL_DEPTH, PATH_SEGMENT_WIDTH, Unit, UnitLevel, subtree_q
from puan.org.selectors import unit_ancestors

AREA_LEVELS = tuple(LEVEL_DEPTH)
DEFAULT_DAYS = 30
MAX_DAYS = 366 * 10


# --- scope and period ---------------------------------------------------------------------


def command_unit_for(*, user, unit_id: int | None = None) -> Unit:
    """The unit whose dashboard the user asks for: theirs by default, or any unit of the
    administrative tree inside their scope. Outside it: 404. A user whose scope is not an
    area (a department, a volunteer) has no command centre: 403."""
    scope = scope_for(user)
    if not scope.unit_paths or user.unit_id is None:
        raise NotAllowed("指挥中心仅对区、街镇、社区、网格的工作人员和领导开放。")
    units = Unit.objects.defer("boundary").filter(is_active=True, level__in=AREA_LEVELS)
    unit = units.filter(pk=unit_id if unit_id is not None else user.unit_id).first()
    if unit is None or not scope.covers_path(unit.path):
        raise NotVisible("单位不存在或无权查看。")
    return unit


def unit_breadcrumb(*, user, unit: Unit) -> list[Unit]:
    """The unit's ancestors the user may see, top first, ending with the unit itself."""
    scope = scope_for(user)
    return [u for u in unit_ancestors(unit) if scope.covers_path(u.path)]


@dataclass(frozen=True)
class Period:
    """Local calendar days, both ends included."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def period_from(first: date | None, last: date | None, *, days: int = DEFAULT_DAYS) -> Period:
    """`from`..`to` as given; `to` defaults to today, `from` to `days` days ending `to`."""
    last = last or timezone.localdate()
    first = first or last - timedelta(days=days - 1)
    if first > last:
        raise InvalidInput("开始日期不能晚于结束日期。", field="from")
    if (last - first).days >= MAX_DAYS:
        raise InvalidInput("统计区间不能超过十年。", field="from")
    return Period(first, last)


def level_of(unit: Unit) -> int:
    return LEVEL_DEPTH[unit.level]


def as_of() -> datetime | None:
    """When the roll-ups were last brought up to date (None: never built)."""
    return RollupState.objects.filter(pk=1).values_list("folded_at", flat=True).first()


# --- live "now" figures -------------------------------------------------------------------


def _open_cases_in(unit: Unit) -> QuerySet[Case]:
    """Open cases located in the unit's area. The area test is a prefix comparison, not a
    range, on purpose: the planner must walk the (state, deadline) index to the few open
    cases past their deadline rather than the area index over every case of a street."""
    cut = len(unit.path)
    return (
        Case.objects.filter(state__in=OPEN_STATES).annotate(_area=Substr("area_path", 1, cut)).filter(_area=unit.path)
    )


def open_by_colour(unit: Unit) -> dict[str, int]:
    """Open cases in the unit by colour, as of the last fold (`OpenRollup`)."""
    row = OpenRollup.objects.filter(level=level_of(unit), path=unit.path).values_list(*OPEN_FIELDS).first()
    return dict(zip(OPEN_FIELDS, row or (0, 0, 0), strict=True))


def overdue_count(unit: Unit, now: datetime) -> int:
    """Open cases whose resolution deadline has passed: live, and cheap, since the
    (state, deadline) index leads straight to the few that are overdue."""
    return _open_cases_in(unit).filter(past_due_q(now)).count()


def _by_child(unit: Unit, now: datetime, *, overdue: bool) -> dict[str, dict[str, int]]:
    """Open and red-open counts per child unit path (as of the fold), and overdue now."""
    level = level_of(unit) + 1
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for path, red, orange, yellow in OpenRollup.objects.filter(subtree_q(unit.path), level=level).values_list(
        "path", *OPEN_FIELDS
    ):
        out[path] |= {"open": red + orange + yellow, "red": red}
    if overdue:
        cut = len(unit.path) + PATH_SEGMENT_WIDTH
        rows = (
            _open_cases_in(unit)
            .filter(past_due_q(now))
            .annotate(child=Substr("area_path", 1, cut))
            .values("child")
            .annotate(n=Count("pk"))
            .values_list("child", "n")
        )
        for child, n in rows:
            out[child]["overdue"] = n
    return out


# --- KPIs ---------------------------------------------------------------------------------


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _sums(rows: QuerySet, fields: tuple[str, ...]) -> dict[str, int]:
    found = rows.aggregate(**{f: Sum(f) for f in fields})
    return {f: int(found[f] or 0) for f in fields}


def kpis_for(*, unit: Unit, period: Period, now: datetime | None = None) -> dict:
    """Every KPI of the unit for the period (docs/kpis.md, "The figures")."""
    now = now or timezone.now()
    rows = DailyRollup.objects.filter(level=level_of(unit), path=unit.path)
    p = _sums(rows.filter(day__range=(period.first, period.last)), DAILY_FIELDS)
    ever = _sums(rows, ("handled",))
    colours = open_by_colour(unit)
    return {
        "handled_total": ever["handled"],
        "handled": p["handled"],
        "registered": p["registered"],
        "rejected": p["rejected"],
        "intake": p["registered"] - p["rejected"],
        "done": p["done"],
        "on_time": p["on_time"],
        "tier_community": p["tier1"],
        "tier_street": p["tier2"],
        "tier_district": p["tier3"],
        "rated": p["rated"],
        **rates_of(p),
        "open_red": colours[Risk.RED],
        "open_orange": colours[Risk.ORANGE],
        "open_yellow": colours[Risk.YELLOW],
        "open_total": sum(colours.values()),
        "overdue": overdue_count(unit, now),
    }


# --- the map ------------------------------------------------------------------------------

METRICS: dict[str, str] = {
    "registered": "登记案件",
    "handled": "办结案件",
    "completion_rate": "办结率",
    "on_time_rate": "按期办结率",
    "tier_within_street_rate": "不出街镇率",
    "satisfaction": "平均满意度",
    "open": "当前在办",
    "red": "红色在办",
    "overdue": "当前超期",
}
RATE_METRICS = {"completion_rate", "on_time_rate", "tier_within_street_rate", "satisfaction"}


def _child_sums(unit: Unit, period: Period) -> dict[str, dict[str, int]]:
    level = level_of(unit) + 1
    rows = (
        DailyRollup.objects.filter(subtree_q(unit.path), level=level, day__range=(period.first, period.last))
        .values("path")
        .annotate(**{f: Sum(f) for f in DAILY_FIELDS})
    )
    return {r["path"]: {f: int(r[f] or 0) for f in DAILY_FIELDS} for r in rows}


def rates_of(sums: dict[str, int]) -> dict[str, float | None]:
    """The rates of a period from its roll-up sums (definitions in docs/kpis.md); None
    where the denominator is zero."""
    handled = sums.get("handled", 0)
    tier1, tier2 = sums.get("tier1", 0), sums.get("tier2", 0)
    return {
        "completion_rate": _rate(sums.get("done", 0), sums.get("registered", 0) - sums.get("rejected", 0)),
        "on_time_rate": _rate(sums.get("on_time", 0), handled),
        "tier_community_rate": _rate(tier1, handled),
        "tier_within_street_rate": _rate(tier1 + tier2, handled),
        "tier_district_rate": _rate(sums.get("tier3", 0), handled),
        "satisfaction_avg": _rate(sums.get("satisfaction_sum", 0), sums.get("rated", 0)),
    }


def metric_value(metric: str, sums: dict[str, int], live: dict[str, int]) -> float | int | None:
    if metric in ("open", "red", "overdue"):
        return live.get(metric, 0)
    if metric in ("registered", "handled"):
        return sums.get(metric, 0)
    if metric in RATE_METRICS:
        return rates_of(sums)["satisfaction_avg" if metric == "satisfaction" else metric]
    raise InvalidInput("指标无效。", field="metric")


def map_for(*, unit: Unit, metric: str, period: Period, now: datetime | None = None) -> dict:
    """The unit's children (a grid: itself) as GeoJSON features carrying the metric."""
    if metric not in METRICS:
        raise InvalidInput(f"指标无效，可选：{'、'.join(METRICS)}。", field="metric")
    now = now or timezone.now()
    children = list(
        Unit.objects.defer("boundary")
        .filter(parent=unit, is_active=True, level__in=AREA_LEVELS)
        .order_by("sort_order", "path")
    )
    if children:
        sums = _child_sums(unit, period)
        live = _by_child(unit, now, overdue=metric == "overdue") if metric in ("open", "red", "overdue") else {}
        shown = children
    else:
        own = DailyRollup.objects.filter(level=level_of(unit), path=unit.path, day__range=(period.first, period.last))
        sums = {unit.path: _sums(own, DAILY_FIELDS)}
        colours = open_by_colour(unit) if metric in ("open", "red") else {}
        live = {unit.path: {"open": sum(colours.values()), "red": colours.get(Risk.RED, 0)}}
        if metric == "overdue":
            live[unit.path]["overdue"] = overdue_count(unit, now)
        shown = [unit]
    geometries = unit_geometries(shown)
    features = []
    for child in shown:
        value = metric_value(metric, sums.get(child.path, {}), live.get(child.path, {}))
        features.append(
            {
                "type": "Feature",
                "id": child.pk,
                "properties": {
                    "id": child.pk,
                    "name": child.name,
                    "level": child.level,
                    "value": value,
                    "drillable": bool(children) and child.level != UnitLevel.GRID,
                },
                "geometry": geometries.get(child.pk),
            }
        )
    values = [f["properties"]["value"] for f in features if f["properties"]["value"] is not None]
    return {
        "metric": metric,
        "metric_label": METRICS[metric],
        "is_rate": metric in RATE_METRICS,
        "min": min(values) if values else None,
        "max": max(values) if values else None,
        "features": {"type": "FeatureCollection", "features": features},
    }


# --- the hexagon heat map -----------------------------------------------------------------


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def hex_buckets(period: Period) -> list[tuple[int, date, date]]:
    """The period as runs of whole months, whole weeks and single days — (span, first
    bucket start, last bucket start) — taking at each step the largest bucket that starts
    there and fits, and no week that would spoil a month that fits."""
    last = period.last

    def month_fits(start: date) -> bool:
        return start.day == 1 and _next_month(start) - timedelta(days=1) <= last

    buckets: list[tuple[int, date]] = []
    cursor = period.first
    while cursor <= last:
        if month_fits(cursor):
            buckets.append((HexSpan.MONTH, cursor))
            cursor = _next_month(cursor)
        elif (
            cursor.weekday() == 0
            and cursor + timedelta(days=6) <= last
            and not any(month_fits(cursor + timedelta(days=k)) for k in range(1, 7))
        ):
            buckets.append((HexSpan.WEEK, cursor))
            cursor += timedelta(days=7)
        else:
            buckets.append((HexSpan.DAY, cursor))
            cursor += timedelta(days=1)
    runs: list[tuple[int, date, date]] = []
    for span, start in buckets:
        if runs and runs[-1][0] == span:
            runs[-1] = (span, runs[-1][1], start)
        else:
            runs.append((span, start, start))
    return runs


def hexes_for(*, unit: Unit, period: Period, resolution: int = HEX_RESOLUTION) -> dict:
    """Cases registered in the period per h3 cell (at `resolution` ≤ 8), in the unit."""
    if not 5 <= resolution <= HEX_RESOLUTION:
        raise InvalidInput(f"h3 分辨率应在 5 到 {HEX_RESOLUTION} 之间。", field="res")
    level = level_of(unit)
    counts: dict[int, int] = defaultdict(int)
    if level in HEX_LEVELS:
        rows = HexRollup.objects.filter(level=level, path=unit.path)
        # One query per run, each a single range on the (level, path, span, day) index; an
        # OR of them would make SQLite read every row of the unit.
        for span, first, last in hex_buckets(period):
            part = rows.filter(span=span, day__range=(first, last))
            for cell, n in part.values("cell").annotate(n=Sum("registered")).values_list("cell", "n"):
                counts[cell] += n
    else:
        facts = CaseFact.objects.filter(
            subtree_q(unit.path, "area_path"), registered_on__range=(period.first, period.last)
        ).exclude(cell=0)
        for cell, n in facts.values("cell").annotate(n=Count("pk")).values_list("cell", "n"):
            counts[cell] += n
    if resolution < HEX_RESOLUTION:
        import h3

        coarse: dict[int, int] = defaultdict(int)
        for cell, n in counts.items():
            coarse[h3.str_to_int(h3.cell_to_parent(h3.int_to_str(cell), resolution))] += n
        counts = coarse
    # The outline goes by the cell's integer index: the API writes it from a cache of
    # ready-made JSON (a thousand hexagons per answer).
    cells = [
        {"cell": f"{cell:x}", "registered": n, "index": cell}
        for cell, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if n
    ]
    return {"resolution": resolution, "max": cells[0]["registered"] if cells else 0, "cells": cells}


# --- the red-case feed --------------------------------------------------------------------

FEED_FIRST = 20
FEED_MAX = 100
FEED_EXPORT = 500


def _feed_alerts() -> QuerySet[CommandAlert]:
    """Alerts with what the feed shows of each (and the case's area), nothing more: a
    unit's boundary or a case's facts are large JSON."""
    return CommandAlert.objects.select_related("case", "case__street", "case__community", "case__grid").only(
        "message",
        "created_at",
        "acknowledged_at",
        "case__tracking_code",
        "case__title",
        "case__risk",
        "case__state",
        "case__area_path",
        "case__street__name",
        "case__community__name",
        "case__grid__name",
    )


def alert_for(*, user, alert_id: int, for_update: bool = False) -> CommandAlert:
    """One red-case alert in the user's command scope (its case in their area); else 404.
    Users without a command centre get 403, as for the feed."""
    command_unit_for(user=user)
    alerts = _feed_alerts()
    if for_update:
        alerts = alerts.select_for_update(of=("self",))
    alert = alerts.filter(pk=alert_id).first()
    if alert is None or not scope_for(user).covers_path(alert.case.area_path):
        raise NotVisible("预警不存在或无权查看。")
    return alert


def alerts_for(*, unit: Unit, after: int | None = None, limit: int = FEED_FIRST) -> list[CommandAlert]:
    """Red-case alerts in the unit, newest first: the latest few, or every one after
    `after` (the id the screen saw last) — what a screen polling every few seconds asks.
    How the area is tested depends on its size (see below)."""
    # A district or street has red cases every day: walk the alerts newest first and stop
    # at the first few in the area (a prefix test the planner cannot turn into a scan of
    # the area's cases). A community or grid has a few a month: start from its cases.
    area = Q(_area=unit.path) if level_of(unit) <= 2 else subtree_q(unit.path, "case__area_path")
    alerts = _feed_alerts().annotate(_area=Substr("case__area_path", 1, len(unit.path))).filter(area)
    if after is None:
        return list(alerts.order_by("-pk")[:limit])
    return list(reversed(alerts.filter(pk__gt=after).order_by("pk")[:FEED_MAX]))


def alerts_signed(*, unit: Unit, ids: list[int]) -> list[tuple[int, datetime]]:
    """Of the alerts `ids` (those a screen shows unsigned), the ones in the unit's area that
    somebody has signed for, with when: so that every screen watching an area, not only
    the one where it was done, shows the signature at its next poll. Ids outside the area
    are left out, as if unknown."""
    if not ids:
        return []
    return list(
        CommandAlert.objects.filter(subtree_q(unit.path, "case__area_path"), pk__in=ids, acknowledged_at__isnull=False)
        .order_by("pk")
        .values_list("pk", "acknowledged_at")
    )


# --- departments --------------------------------------------------------------------------

DEPARTMENT_SORTS = ("on_time_rate", "handled", "overdue", "satisfaction")


def departments_for(
    *, unit: Unit, period: Period, sort: str = "on_time_rate", now: datetime | None = None
) -> list[dict]:
    """Per lead department, for cases in the unit's area: latest resolutions in the period
    it led (handled, on time, satisfaction) and its open cases overdue now. Ranked; by a
    rate, only departments with at least `ranking_min_cases()` cases behind it get a rank
    (one case handled on time is not a 100% department), the rest follow unranked."""
    if sort not in DEPARTMENT_SORTS:
        raise InvalidInput(f"排序无效，可选：{'、'.join(DEPARTMENT_SORTS)}。", field="sort")
    now = now or timezone.now()
    rows = (
        DepartmentDailyRollup.objects.filter(
            level=level_of(unit), path=unit.path, day__range=(period.first, period.last)
        )
        .values("department_id")
        .annotate(**{f: Sum(f) for f in DEPARTMENT_FIELDS})
    )
    sums = {r["department_id"]: {f: int(r[f] or 0) for f in DEPARTMENT_FIELDS} for r in rows}
    overdue = dict(
        _open_cases_in(unit)
        .filter(past_due_q(now), lead_department__isnull=False)
        .values("lead_department_id")
        .annotate(n=Count("pk"))
        .values_list("lead_department_id", "n")
    )
    ids = set(sums) | set(overdue)
    names = dict(Unit.objects.filter(pk__in=ids).values_list("pk", "name"))
    items = []
    for pk in ids:
        s = sums.get(pk, dict.fromkeys(DEPARTMENT_FIELDS, 0))
        rates = rates_of(s)
        items.append(
            {
                "department_id": pk,
                "department": names.get(pk, f"#{pk}"),
                "handled": s["handled"],
                "on_time": s["on_time"],
                "on_time_rate": rates["on_time_rate"],
                "rated": s["rated"],
                "satisfaction_avg": rates["satisfaction_avg"],
                "overdue": overdue.get(pk, 0),
            }
        )

    def key(item: dict):
        if sort == "handled":
            return (-item["handled"], item["department"])
        if sort == "overdue":
            return (-item["overdue"], item["department"])
        field = "on_time_rate" if sort == "on_time_rate" else "satisfaction_avg"
        value = item[field]
        return (value is None, -(value or 0), -item["handled"], item["department"])

    base = {"on_time_rate": "handled", "satisfaction": "rated"}.get(sort)
    least = ranking_min_cases()
    for item in items:
        item["ranked"] = base is None or item[base] >= least
    items.sort(key=lambda item: (not item["ranked"], key(item)))
    for rank, item in enumerate(items, start=1):
        item["rank"] = rank if item["ranked"] else None
    return items


def ranking_min_cases() -> int:
    return int(getattr(settings, "PUAN_RANKING_MIN_CASES", 5))


# --- the trend ----------------------------------------------------------------------------


def trend_for(*, unit: Unit, period: Period) -> list[dict]:
    """One row per day of the period: registered, handled, on time, and the day's rates."""
    rows = {
        r["day"]: r
        for r in DailyRollup.objects.filter(
            level=level_of(unit), path=unit.path, day__range=(period.first, period.last)
        ).values("day", *DAILY_FIELDS)
    }
    out = []
    for n in range(period.days):
        day = period.first + timedelta(days=n)
        r = rows.get(day) or dict.fromkeys(DAILY_FIELDS, 0)
        rates = rates_of(r)
        out.append(
            {
                "day": day,
                "registered": r["registered"],
                "handled": r["handled"],
                "on_time": r["on_time"],
                "on_time_rate": rates["on_time_rate"],
                "done": r["done"],
                "completion_rate": rates["completion_rate"],
            }
        )
    return out
