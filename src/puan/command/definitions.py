"""What a case counts for on the dashboard, computed from its timeline alone.

This is the executable half of `docs/kpis.md`: `case_fact` turns one case's events into
the handful of facts the figures are sums of, and `contributions` says which roll-up rows
those facts add to. The fold (`rollup.py`) and the rebuild both call these, so a figure
has one definition in code; `verify.py` recomputes the figures by a separate route.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

import h3
from django.utils import timezone

from puan.cases.models import DONE_STATES, CaseState
from puan.command.models import FactStatus
from puan.org.models import PATH_SEGMENT_WIDTH

# A case in DONE_STATES has been dealt with (办结 and after); `rejected` (不予受理) is final
# but was never taken on; every other state is open.
HEX_RESOLUTION = 8
# Levels with hex roll-ups (district, street); below that the heat map is counted live.
HEX_LEVELS = (1, 2)

DAILY_FIELDS = (
    "registered",
    "rejected",
    "done",
    "handled",
    "tier1",
    "tier2",
    "tier3",
    "on_time",
    "rated",
    "satisfaction_sum",
)
DEPARTMENT_FIELDS = ("handled", "on_time", "rated", "satisfaction_sum")
OPEN_FIELDS = ("red", "orange", "yellow")
# Events that (re)grade a case, and where in `data` they put the colour.
COLOUR_KEYS = {
    "register": "risk",
    "triage": "risk",
    "escalate": "risk",
    "update_facts": "risk",
    "duplicate_report": "risk",
    "override_risk": "to",
}


class Event(NamedTuple):
    """The columns of a timeline row the figures read. `lead` is an assign event's
    lead department, `satisfaction` a rate event's score, `by` who escalated ("sweep") or,
    on a resolve event, "late" when it came after the deadline in force.
    A named tuple: the rebuild makes millions of them."""

    id: int
    seq: int
    kind: str
    to_state: str
    tier: int
    epoch: int  # `at`, in seconds since 1970 UTC
    lead: int = 0
    satisfaction: int = 0
    by: str = ""
    colour: str = ""  # the colour the event gave the case, for events that grade it


class LocalDays:
    """Local calendar day (PUAN_TIME_ZONE) of a UTC epoch second, without building a
    datetime per event: the zone's offset is looked up once per hour."""

    def __init__(self) -> None:
        self.tz = timezone.get_current_timezone()
        self._offsets: dict[int, int] = {}
        self._days: dict[int, date] = {}

    def __call__(self, epoch: int) -> date:
        hour = epoch // 3600
        offset = self._offsets.get(hour)
        if offset is None:
            moment = datetime.fromtimestamp(hour * 3600, tz=UTC).astimezone(self.tz)
            offset = self._offsets[hour] = int(moment.utcoffset().total_seconds())
        number = (epoch + offset) // 86400
        found = self._days.get(number)
        if found is None:
            found = self._days[number] = date(1970, 1, 1) + timedelta(days=number)
        return found


@dataclass(frozen=True)
class CaseFact:
    case_id: int
    area_path: str
    registered_on: date
    status: int
    resolved_on: date | None = None
    resolved_tier: int = 0
    on_time: bool = False
    department_id: int = 0
    satisfaction: int | None = None
    colour: str = ""
    cell: int = 0


def is_lateness_mark(event: Event) -> bool:
    """A record that a deadline passed: the sweep's `overdue` event or its own escalation
    of a case that ran out of time at its tier, or a resolution made after the deadline in
    force (`by` reads "late" for a `resolve` whose data says `overdue`)."""
    return (
        event.kind == "overdue"
        or (event.kind == "escalate" and event.by == "sweep")
        or (event.kind == "resolve" and event.by == "late")
    )


def hex_cell(lon: float | None, lat: float | None) -> int:
    if lon is None or lat is None:
        return 0
    return h3.str_to_int(h3.latlng_to_cell(lat, lon, HEX_RESOLUTION))


def case_fact(case_id: int, area_path: str, cell: int, events: Sequence[Event], day: LocalDays) -> CaseFact | None:
    """The case's facts from its events in timeline order (`seq`). None without events.
    `day` turns an event's moment into its local calendar day."""
    if not events:
        return None
    state = next((e.to_state for e in reversed(events) if e.to_state), "")
    if state in DONE_STATES:
        status = int(FactStatus.DONE)
    elif state == CaseState.REJECTED:
        status = int(FactStatus.REJECTED)
    else:
        status = int(FactStatus.OPEN)
    colour = next((e.colour for e in reversed(events) if e.colour), "")
    fact = dict(
        case_id=case_id,
        area_path=area_path,
        registered_on=day(events[0].epoch),
        status=status,
        colour=colour,
        cell=cell,
    )

    last = next((i for i in range(len(events) - 1, -1, -1) if events[i].kind == "resolve"), None)
    if last is None:
        return CaseFact(**fact)
    # The handling cycle of that resolution starts after the latest reopening before it.
    start = next((i for i in range(last - 1, -1, -1) if events[i].kind == "reopen"), -1)
    cycle = events[start + 1 : last]
    lead = next((e.lead for e in reversed(cycle) if e.kind == "assign"), 0)
    rating = next((e.satisfaction for e in reversed(events[last + 1 :]) if e.kind == "rate"), None)
    resolution = events[last]
    return CaseFact(
        **fact,
        resolved_on=day(resolution.epoch),
        resolved_tier=resolution.tier,
        on_time=not any(is_lateness_mark(e) for e in (*cycle, resolution)),
        department_id=lead or 0,
        satisfaction=rating or None,
    )


def unit_paths(area_path: str) -> list[tuple[int, str]]:
    """(level, path) of the district, street, community and grid the case lies in."""
    w = PATH_SEGMENT_WIDTH
    return [(i // w + 1, area_path[: i + w]) for i in range(0, min(len(area_path), 4 * w), w)]


Key = tuple
Contribution = dict[tuple[str, Key], list[int]]


def contributions(fact: CaseFact | None) -> Contribution:
    """The roll-up rows a case adds to and by how much: table name and key → counters in
    the table's field order (DAILY_FIELDS, DEPARTMENT_FIELDS, registered, OPEN_FIELDS)."""
    out: Contribution = {}
    if fact is None:
        return out
    registered_on, resolved_on = fact.registered_on, fact.resolved_on
    reg = [1, int(fact.status == FactStatus.REJECTED), int(fact.status == FactStatus.DONE), 0, 0, 0, 0, 0, 0, 0]
    res = dept = None
    if resolved_on is not None:
        tier, rated, sat, on_time = (
            fact.resolved_tier,
            int(fact.satisfaction is not None),
            fact.satisfaction or 0,
            int(fact.on_time),
        )
        res = [0, 0, 0, 1, int(tier == 1), int(tier == 2), int(tier == 3), on_time, rated, sat]
        if fact.department_id:
            dept = [1, on_time, rated, sat]
    month = registered_on.replace(day=1)
    monday = registered_on - timedelta(days=registered_on.weekday())
    is_open = fact.status == FactStatus.OPEN and fact.colour in OPEN_FIELDS
    open_row = [int(fact.colour == c) for c in OPEN_FIELDS]
    for level, path in unit_paths(fact.area_path):
        if is_open:
            out["open", (level, path)] = open_row
        if res is None:
            out["daily", (level, path, registered_on)] = reg
        elif resolved_on == registered_on:
            out["daily", (level, path, registered_on)] = [a + b for a, b in zip(reg, res, strict=True)]
        else:
            out["daily", (level, path, registered_on)] = reg
            out["daily", (level, path, resolved_on)] = res
        if dept is not None:
            out["department", (level, path, resolved_on, fact.department_id)] = dept
        if fact.cell and level in HEX_LEVELS:
            out["hex", (level, path, 0, registered_on, fact.cell)] = [1]
            out["hex", (level, path, 1, month, fact.cell)] = [1]
            out["hex", (level, path, 2, monday, fact.cell)] = [1]
    return out
