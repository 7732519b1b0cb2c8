"""`puan verify-kpis`: recompute every command-centre figure from the raw timeline and
report every difference from what the dashboard serves.

Deliberately a second implementation. The fold (`definitions.case_fact`) looks at a
timeline backwards (the latest resolution, then the cycle before it); this walks each
timeline forwards once, through the ORM, decoding `data` in Python, converting times with
Django's own time-zone code — so a mistake in either shows up as a difference.

What is compared:
1. every roll-up row (daily, per department, per hex cell) with the same row recomputed
   over the fold's horizon (events up to the watermark, gaps excluded) — which covers
   every figure over any period, since figures are sums of rows;
2. the KPIs the API serves for the district and each street (and, with `units="all"`,
   every community and grid), for the given period and all time, with the same figures
   computed straight from the per-case walk;
3. the live figure (overdue now) and what it rests on: each case's state and colour
   columns against its timeline, and the served count against a count of those columns.
"""

from __future__ import annotations

import time as clock
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.utils import timezone

from puan.cases.models import OPEN_STATES, Case, CaseEvent, CaseState, deadline_passed
from puan.command import selectors as sel
from puan.command.models import DailyRollup, DepartmentDailyRollup, HexRollup, OpenRollup, RollupState
from puan.command.rollup import Gaps
from puan.org.models import PATH_SEGMENT_WIDTH, Unit, UnitLevel

FINISHED = {CaseState.RESOLVED, CaseState.VERIFIED, CaseState.RATED, CaseState.CLOSED}
COLOUR_KEYS = {
    "register": "risk",
    "triage": "risk",
    "escalate": "risk",
    "update_facts": "risk",
    "duplicate_report": "risk",
    "override_risk": "to",
}
SEGMENT = PATH_SEGMENT_WIDTH


@dataclass
class Difference:
    what: str
    key: str
    figure: str
    served: object
    recomputed: object

    def as_line(self) -> str:
        return f"{self.what} {self.key} {self.figure}: 看板 {self.served!r} ≠ 重算 {self.recomputed!r}"


@dataclass
class VerifyReport:
    cases: int = 0
    events: int = 0
    rows: int = 0
    figures: int = 0
    horizon: int = 0
    seconds: float = 0.0
    differences: list[Difference] = field(default_factory=list)
    difference_count: int = 0

    @property
    def ok(self) -> bool:
        return self.difference_count == 0


@dataclass
class _Walked:
    """One case after walking its timeline forwards."""

    area_path: str
    registered_on: date
    state: str = ""
    colour: str = ""
    resolved_on: date | None = None
    tier: int = 0
    on_time: bool = False
    lead: int = 0
    rating: int | None = None
    top_seq: int = 0


def _local_day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def _walk(area_path: str, events: list[tuple]) -> _Walked:
    """events: (seq, kind, to_state, tier, at, data) in seq order."""
    walked = _Walked(area_path=area_path, registered_on=_local_day(events[0][4]))
    late, lead = False, 0
    for seq, kind, to_state, tier, at, data in events:
        walked.top_seq = seq
        if to_state:
            walked.state = to_state
        if kind in COLOUR_KEYS and isinstance(data, dict) and data.get(COLOUR_KEYS[kind]):
            walked.colour = data[COLOUR_KEYS[kind]]
        if kind == "reopen":
            late, lead = False, 0
        elif kind == "overdue" or (kind == "escalate" and (data or {}).get("by") == "sweep"):
            late = True
        elif kind == "assign":
            lead = int((data or {}).get("lead_department") or 0)
        elif kind == "resolve":
            on_time = not late and not (data or {}).get("overdue")
            walked.resolved_on, walked.tier, walked.on_time, walked.lead = _local_day(at), tier, on_time, lead
            walked.rating = None
        elif kind == "rate" and walked.resolved_on is not None:
            walked.rating = int((data or {}).get("satisfaction") or 0) or None
    return walked


def _prefixes(area_path: str) -> list[tuple[int, str]]:
    return [(n // SEGMENT, area_path[:n]) for n in range(SEGMENT, min(len(area_path), 4 * SEGMENT) + 1, SEGMENT)]


def _expected_rows(cases: dict[int, _Walked], cells: dict[int, int]) -> dict[str, dict[tuple, Counter]]:
    daily: dict[tuple, Counter] = defaultdict(Counter)
    department: dict[tuple, Counter] = defaultdict(Counter)
    hexes: dict[tuple, Counter] = defaultdict(Counter)
    opened: dict[tuple, Counter] = defaultdict(Counter)
    for pk, c in cases.items():
        for level, path in _prefixes(c.area_path):
            if _is_open(c) and c.colour in ("red", "orange", "yellow"):
                opened[level, path][c.colour] += 1
            row = daily[level, path, c.registered_on]
            row["registered"] += 1
            row["rejected"] += c.state == CaseState.REJECTED
            row["done"] += c.state in FINISHED
            if c.resolved_on is not None:
                row = daily[level, path, c.resolved_on]
                row["handled"] += 1
                row[f"tier{c.tier}"] += 1
                row["on_time"] += c.on_time
                row["rated"] += c.rating is not None
                row["satisfaction_sum"] += c.rating or 0
                if c.lead:
                    dept = department[level, path, c.resolved_on, c.lead]
                    dept["handled"] += 1
                    dept["on_time"] += c.on_time
                    dept["rated"] += c.rating is not None
                    dept["satisfaction_sum"] += c.rating or 0
            if cells.get(pk) and level <= 2:
                hexes[level, path, 0, c.registered_on, cells[pk]]["registered"] += 1
                hexes[level, path, 1, c.registered_on.replace(day=1), cells[pk]]["registered"] += 1
                monday = c.registered_on - timedelta(days=c.registered_on.weekday())
                hexes[level, path, 2, monday, cells[pk]]["registered"] += 1
    return {"daily": daily, "department": department, "hex": hexes, "open": opened}


def _served_rows() -> dict[str, dict[tuple, Counter]]:
    out: dict[str, dict[tuple, Counter]] = {}
    specs = (
        ("daily", DailyRollup, ("level", "path", "day")),
        ("department", DepartmentDailyRollup, ("level", "path", "day", "department_id")),
        ("hex", HexRollup, ("level", "path", "span", "day", "cell")),
        ("open", OpenRollup, ("level", "path")),
    )
    for name, model, keys in specs:
        fields = [f.name for f in model._meta.concrete_fields if f.name not in ("id", *keys)]
        rows: dict[tuple, Counter] = {}
        for values in model.objects.values_list(*keys, *fields).iterator(chunk_size=5000):
            counts = Counter({f: v for f, v in zip(fields, values[len(keys) :], strict=True) if v})
            if counts:
                rows[tuple(values[: len(keys)])] = counts
        out[name] = rows
    return out


def _compare_rows(
    expected: dict[str, dict[tuple, Counter]], served: dict[str, dict[tuple, Counter]], report: VerifyReport
) -> None:
    for name in expected:
        want = {k: v for k, v in expected[name].items() if any(v.values())}
        have = served[name]
        for key in sorted(set(want) | set(have), key=str):
            a, b = have.get(key, Counter()), want.get(key, Counter())
            report.rows += 1
            for figure in sorted(set(a) | set(b)):
                if a.get(figure, 0) != b.get(figure, 0):
                    _differ(report, name, "/".join(map(str, key)), figure, a.get(figure, 0), b.get(figure, 0))


def _differ(report: VerifyReport, what: str, key: str, figure: str, served, recomputed, limit: int = 200) -> None:
    report.difference_count += 1
    if len(report.differences) < limit:
        report.differences.append(Difference(what, key, figure, served, recomputed))


def _walk_all(horizon: int, gaps: Gaps) -> tuple[dict[int, _Walked], dict[int, tuple], int]:
    """Every case walked over the horizon; plus each case's columns (for the live check)."""
    import h3

    columns: dict[int, tuple] = {}
    for pk, area_path, lon, lat, state, risk, version, due, suspended_at in (
        Case.objects.order_by("pk")
        .values_list("pk", "area_path", "lon", "lat", "state", "risk", "version", "resolve_due_at", "suspended_at")
        .iterator(chunk_size=5000)
    ):
        cell = h3.str_to_int(h3.latlng_to_cell(lat, lon, 8)) if lon is not None and lat is not None else 0
        columns[pk] = (area_path, cell, state, risk, version, due, suspended_at)
    walked: dict[int, _Walked] = {}
    events = 0
    current, timeline = None, []

    def finish() -> None:
        if current is not None and timeline and current in columns:
            walked[current] = _walk(columns[current][0], timeline)

    rows = (
        CaseEvent.objects.filter(pk__lte=horizon)
        .order_by("case_id", "seq")
        .values_list("pk", "case_id", "seq", "kind", "to_state", "tier", "at", "data")
        .iterator(chunk_size=5000)
    )
    for pk, case_id, seq, kind, to_state, tier, at, data in rows:
        if pk in gaps:
            continue
        events += 1
        if case_id != current:
            finish()
            current, timeline = case_id, []
        timeline.append((seq, kind, to_state, tier, at, data))
    finish()
    return walked, columns, events


def _figures(walked: list[_Walked], period: sel.Period) -> dict[str, object]:
    """The KPIs of docs/kpis.md, straight from the walked cases of one unit."""
    first, last = period.first, period.last
    registered = [c for c in walked if first <= c.registered_on <= last]
    handled = [c for c in walked if c.resolved_on is not None and first <= c.resolved_on <= last]
    intake = [c for c in registered if c.state != CaseState.REJECTED]
    done = [c for c in intake if c.state in FINISHED]
    rated = [c for c in handled if c.rating is not None]
    tiers = Counter(c.tier for c in handled)

    def ratio(a: int, b: int):
        return a / b if b else None

    on_time = sum(c.on_time for c in handled)
    return {
        "handled_total": sum(c.resolved_on is not None for c in walked),
        "handled": len(handled),
        "registered": len(registered),
        "intake": len(intake),
        "done": len(done),
        "completion_rate": ratio(len(done), len(intake)),
        "on_time": on_time,
        "on_time_rate": ratio(on_time, len(handled)),
        "tier_community": tiers[1],
        "tier_street": tiers[2],
        "tier_district": tiers[3],
        "tier_community_rate": ratio(tiers[1], len(handled)),
        "tier_within_street_rate": ratio(tiers[1] + tiers[2], len(handled)),
        "tier_district_rate": ratio(tiers[3], len(handled)),
        "rated": len(rated),
        "satisfaction_avg": ratio(sum(c.rating for c in rated), len(rated)),
        **_open_figures(walked),
    }


def _is_open(c: _Walked) -> bool:
    return c.state not in FINISHED and c.state != CaseState.REJECTED


def _open_figures(walked: list[_Walked]) -> dict[str, int]:
    colours = Counter(c.colour for c in walked if _is_open(c))
    return {
        "open_red": colours["red"],
        "open_orange": colours["orange"],
        "open_yellow": colours["yellow"],
        "open_total": colours["red"] + colours["orange"] + colours["yellow"],
    }


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(a - b) <= 1e-12
    return a == b


def verify_kpis(*, period: sel.Period | None = None, units: str = "streets", attempts: int = 3) -> VerifyReport:
    """Compare everything the dashboard serves with a recomputation from raw events."""
    started = clock.perf_counter()
    period = period or sel.period_from(None, None)
    for _ in range(attempts):
        report = VerifyReport()
        state = RollupState.objects.filter(pk=1).first() or RollupState(pk=1)
        gaps = Gaps.of(state)
        walked, columns, events = _walk_all(state.last_event_id, gaps)
        cells = {pk: columns[pk][1] for pk in walked}
        expected = _expected_rows(walked, cells)
        served = _served_rows()
        now = timezone.now()
        figures_served = _served_figures(units, period, now)
        again = RollupState.objects.filter(pk=1).values_list("version", flat=True).first() or 0
        if again == state.version:
            break
        # A fold ran while we were reading: the served rows are of another horizon. Again.
    report.horizon, report.cases, report.events = state.last_event_id, len(walked), events
    _compare_rows(expected, served, report)
    _compare_figures(walked, columns, figures_served, period, now, report)
    _check_live(walked, columns, report)
    report.seconds = clock.perf_counter() - started
    return report


def _units(units: str) -> list[Unit]:
    levels = [UnitLevel.DISTRICT, UnitLevel.STREET]
    if units == "all":
        levels += [UnitLevel.COMMUNITY, UnitLevel.GRID]
    return list(Unit.objects.defer("boundary").filter(level__in=levels, is_active=True).order_by("path"))


def _served_figures(units: str, period: sel.Period, now: datetime) -> dict[int, tuple[Unit, dict, dict]]:
    everything = sel.Period(date(1970, 1, 1), timezone.localdate(now))
    return {
        u.pk: (u, sel.kpis_for(unit=u, period=period, now=now), sel.kpis_for(unit=u, period=everything, now=now))
        for u in _units(units)
    }


def _compare_figures(
    walked: dict[int, _Walked],
    columns: dict[int, tuple],
    served: dict[int, tuple[Unit, dict, dict]],
    period: sel.Period,
    now: datetime,
    report: VerifyReport,
) -> None:
    everything = sel.Period(date(1970, 1, 1), timezone.localdate(now))
    paths = {unit.path for unit, _, _ in served.values()}
    by_unit: dict[str, list[_Walked]] = defaultdict(list)
    open_by_unit: dict[str, list[tuple]] = defaultdict(list)
    for c in walked.values():
        for _, path in _prefixes(c.area_path):
            if path in paths:
                by_unit[path].append(c)
    for cols in columns.values():
        if cols[2] in OPEN_STATES:
            for _, path in _prefixes(cols[0]):
                if path in paths:
                    open_by_unit[path].append(cols)
    for unit, in_period, all_time in served.values():
        for label, served_figures, p in (("期内", in_period, period), ("累计", all_time, everything)):
            for figure, value in _figures(by_unit[unit.path], p).items():
                report.figures += 1
                if not _same(served_figures[figure], value):
                    _differ(report, f"指标[{label}]", unit.name, figure, served_figures[figure], value)
        # The live figure against the case columns it is counted from, at the same moment.
        overdue = sum(1 for c in open_by_unit[unit.path] if deadline_passed(c[5], c[6], now))
        report.figures += 1
        if in_period["overdue"] != overdue:
            _differ(report, "实时指标", unit.name, "overdue", in_period["overdue"], overdue)


def _check_live(walked: dict[int, _Walked], columns: dict[int, tuple], report: VerifyReport) -> None:
    """Each case's state and colour columns (what live figures count) against its timeline,
    for cases whose timeline the horizon covers completely."""
    for pk, c in walked.items():
        _, _, state, risk, version, _, _ = columns[pk]
        if version != c.top_seq:
            continue  # moved since the horizon: the next run will see it
        if state != c.state:
            _differ(report, "案件状态", f"case {pk}", "state", state, c.state)
        if c.colour and risk != c.colour:
            _differ(report, "案件风险等级", f"case {pk}", "risk", risk, c.colour)
