"""Every figure of the dashboard against numbers worked out by hand from the scenario's
cases (tests/scenario.py): exact counts, and rates as the exact quotient."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import h3
import pytest
from django.utils import timezone

from puan.cases.models import OPEN_STATES, Case, CommandAlert
from puan.command import selectors as sel
from puan.command.geo import cell_outline
from puan.command.rollup import rollup_fold
from puan.command.tests.scenario import BASE, POINTS, build, day

pytestmark = pytest.mark.django_db


@pytest.fixture
def scenario(world):
    s = build(world)
    rollup_fold()
    return s


def period() -> sel.Period:
    return sel.Period(day(1), timezone.localdate())


def overdue_now(names, s, now) -> int:
    """The definition, by hand: open now and past the resolution deadline."""
    cases = [s.case(n) for n in names]
    return sum(1 for c in cases if c.state in OPEN_STATES and c.resolve_due_at and c.resolve_due_at < now)


def test_it_computes_every_kpi_of_the_district_exactly(scenario, world):
    now = timezone.now()
    k = sel.kpis_for(unit=world.district, period=period(), now=now)
    c_street = scenario.c_tier == 2
    assert k == {
        "handled_total": 6,  # A B H D C + I (before the period)
        "handled": 5,  # A B H D C, each on the day of its latest resolution
        "registered": 8,  # A B H D F C E G
        "rejected": 1,  # F
        "intake": 7,
        "done": 5,  # A B H D C; E and G are open
        "completion_rate": 5 / 7,
        "on_time": 4,  # C ran out of time at the community
        "on_time_rate": 4 / 5,
        "tier_community": 3,  # A H D
        "tier_street": 1 + c_street,  # B (and C)
        "tier_district": int(not c_street),
        "tier_community_rate": 3 / 5,
        "tier_within_street_rate": (4 + c_street) / 5,
        "tier_district_rate": int(not c_street) / 5,
        "rated": 3,  # A 5, B 4, C 3; D's 1 was before its latest resolution
        "satisfaction_avg": 12 / 3,
        "open_red": 1,  # E
        "open_orange": 1,  # G
        "open_yellow": 0,
        "open_total": 2,
        "overdue": overdue_now("ABCDEFGHI", scenario, now),
    }


def test_it_scopes_figures_to_a_street_and_leaves_empty_rates_undefined(scenario, world):
    now = timezone.now()
    a = sel.kpis_for(unit=world.street_a, period=period(), now=now)
    assert (a["registered"], a["intake"], a["done"], a["handled"], a["on_time"]) == (7, 6, 5, 5, 4)
    assert (a["open_red"], a["open_orange"], a["overdue"]) == (1, 0, overdue_now("E", scenario, now))
    b = sel.kpis_for(unit=world.street_b, period=period(), now=now)
    assert (b["registered"], b["intake"], b["done"], b["completion_rate"]) == (1, 1, 0, 0.0)
    assert (b["handled"], b["on_time_rate"], b["satisfaction_avg"], b["handled_total"]) == (0, None, None, 0)
    assert (b["open_orange"], b["open_total"]) == (1, 1)
    grid = sel.kpis_for(unit=world.grid_a2, period=period(), now=now)
    assert (grid["registered"], grid["open_red"], grid["handled_total"]) == (1, 1, 0)


def test_it_counts_a_period_by_the_latest_resolution_and_registration_days(scenario, world):
    # Only d3..d4: D was registered and first resolved on d3, but its latest resolution is
    # d5; B was resolved on d4; F was registered (and refused) on d4.
    k = sel.kpis_for(unit=world.district, period=sel.Period(day(3), day(4)))
    assert (k["registered"], k["rejected"], k["intake"], k["done"]) == (2, 1, 1, 1)
    assert (k["handled"], k["tier_street"], k["on_time"], k["rated"]) == (1, 1, 1, 1)
    assert k["handled_total"] == 6  # all time, whatever the period


def test_it_ranks_the_lead_departments(scenario, world, settings):
    settings.PUAN_RANKING_MIN_CASES = 1  # the scenario's departments handle a few cases each
    now = timezone.now()
    rows = sel.departments_for(unit=world.district, period=period(), now=now)
    by_name = {r["department"]: r for r in rows}
    police, justice = by_name["公安分局"], by_name["区司法局"]
    assert (police["rank"], police["handled"], police["on_time"], police["on_time_rate"]) == (1, 1, 1, 1.0)
    assert (police["rated"], police["satisfaction_avg"], police["overdue"]) == (1, 4.0, 0)
    # A (on time, 5), D (on time, not rated since its latest resolution), C (late, 3).
    assert (justice["rank"], justice["handled"], justice["on_time"], justice["on_time_rate"]) == (2, 3, 2, 2 / 3)
    assert (justice["rated"], justice["satisfaction_avg"]) == (2, 4.0)
    assert justice["overdue"] == overdue_now("EG", scenario, now)  # open G15-01 cases, led by justice
    assert len(rows) == 2  # H was settled on the spot: nobody's department
    by_handled = sel.departments_for(unit=world.district, period=period(), sort="handled", now=now)
    assert [r["department"] for r in by_handled][:2] == ["区司法局", "公安分局"]


def test_it_draws_the_trend_day_by_day(scenario, world):
    days = {r["day"]: r for r in sel.trend_for(unit=world.district, period=period())}
    assert len(days) == period().days
    c_day = timezone.localdate(scenario.c_resolved)
    expected_registered = Counter({day(1): 2, day(2): 1, day(3): 1, day(4): 1, day(6): 1, day(scenario.e_day): 2})
    expected_handled = Counter({day(2): 2, day(4): 1, day(5): 1, c_day: 1})
    expected_on_time = Counter({day(2): 2, day(4): 1, day(5): 1})
    for d, row in days.items():
        assert row["registered"] == expected_registered[d], d
        assert row["handled"] == expected_handled[d], d
        assert row["on_time"] == expected_on_time[d], d
    assert days[day(4)]["completion_rate"] is None  # F, refused, was the day's only case
    assert days[day(1)]["completion_rate"] == 1.0
    assert days[day(scenario.e_day)]["completion_rate"] == 0.0
    assert days[c_day]["on_time_rate"] == 0.0  # C alone, late


def test_it_colours_the_map_of_children_and_drills_down(scenario, world):
    now = timezone.now()
    district = sel.map_for(unit=world.district, metric="registered", period=period(), now=now)
    values = {f["properties"]["name"]: f["properties"]["value"] for f in district["features"]["features"]}
    assert values == {"长洲街": 7, "云埔街": 1}
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in district["features"]["features"])
    assert all(f["properties"]["drillable"] for f in district["features"]["features"])
    rates = sel.map_for(unit=world.district, metric="on_time_rate", period=period(), now=now)
    assert {f["properties"]["name"]: f["properties"]["value"] for f in rates["features"]["features"]} == {
        "长洲街": 4 / 5,
        "云埔街": None,
    }
    red = sel.map_for(unit=world.district, metric="red", period=period(), now=now)
    assert {f["properties"]["name"]: f["properties"]["value"] for f in red["features"]["features"]} == {
        "长洲街": 1,
        "云埔街": 0,
    }
    overdue = sel.map_for(unit=world.district, metric="overdue", period=period(), now=now)
    assert {f["properties"]["name"]: f["properties"]["value"] for f in overdue["features"]["features"]} == {
        "长洲街": overdue_now("E", scenario, now),
        "云埔街": overdue_now("G", scenario, now),
    }
    grids = sel.map_for(unit=world.community_a, metric="registered", period=period(), now=now)
    assert {f["properties"]["name"]: f["properties"]["value"] for f in grids["features"]["features"]} == {
        "深井社区第01网格": 6,
        "深井社区第02网格": 1,
    }
    assert not any(f["properties"]["drillable"] for f in grids["features"]["features"])
    one = sel.map_for(unit=world.grid_a2, metric="red", period=period(), now=now)
    assert [(f["id"], f["properties"]["value"]) for f in one["features"]["features"]] == [(world.grid_a2.pk, 1)]


def _cells(names, resolution=8):
    counts = Counter()
    for n in names:
        lon, lat = POINTS[n]
        cell = h3.latlng_to_cell(lat, lon, 8)
        counts[h3.cell_to_parent(cell, resolution) if resolution < 8 else cell] += 1
    return dict(counts)


@pytest.mark.parametrize("resolution", [8, 7])
def test_it_counts_registrations_per_hexagon(scenario, world, resolution):
    registered = "ABHDFCEG"
    for unit, names in ((world.district, registered), (world.street_a, "ABHDFCE"), (world.community_a, "ABHDFCE")):
        data = sel.hexes_for(unit=unit, period=period(), resolution=resolution)
        got = {c["cell"]: c["registered"] for c in data["cells"]}
        assert got == _cells(names, resolution), unit.name
        assert data["max"] == max(got.values())
        outlines = [cell_outline(c["index"]) for c in data["cells"]]
        assert all(len(o) == 7 and o[0] == o[-1] for o in outlines)
    # A period reaching across whole months uses month rows: the same answer.
    long = sel.Period(BASE - timedelta(days=60), timezone.localdate())
    data = sel.hexes_for(unit=world.district, period=long, resolution=resolution)
    assert {c["cell"]: c["registered"] for c in data["cells"]} == _cells("I" + registered, resolution)


@pytest.mark.parametrize(
    "first, last",
    [
        ("2026-01-01", "2026-12-31"),
        ("2026-01-05", "2026-03-17"),
        ("2026-02-03", "2026-02-09"),
        ("2025-12-30", "2026-02-02"),
    ],
)
def test_it_splits_a_period_into_months_weeks_and_days_without_overlap(first, last):
    from datetime import date

    period = sel.Period(date.fromisoformat(first), date.fromisoformat(last))
    covered = []
    for span, start, end in sel.hex_buckets(period):
        step = {0: 1, 2: 7}.get(span)
        cursor = start
        while cursor <= end:
            nxt = cursor + timedelta(days=step) if step else (cursor + timedelta(days=32)).replace(day=1)
            covered += [cursor + timedelta(days=k) for k in range((nxt - cursor).days)]
            assert span != 2 or cursor.weekday() == 0
            assert span != 1 or cursor.day == 1
            cursor = nxt
    assert covered == [period.first + timedelta(days=k) for k in range(period.days)]
    if first == "2026-01-01":
        assert sel.hex_buckets(period) == [(1, date(2026, 1, 1), date(2026, 12, 1))]


def test_it_feeds_red_alerts_of_the_area_only(scenario, world):
    alerts = sel.alerts_for(unit=world.district)
    e = scenario.cases["E"]
    assert [a.case_id for a in alerts] == [e.pk]
    assert [a.case_id for a in sel.alerts_for(unit=world.street_a)] == [e.pk]
    assert sel.alerts_for(unit=world.street_b) == []
    last = alerts[0].pk
    assert sel.alerts_for(unit=world.district, after=last) == []
    assert [a.pk for a in sel.alerts_for(unit=world.district, after=last - 1)] == [last]


def test_it_counts_open_cases_the_same_as_the_case_table(scenario, world):
    open_cases = Case.objects.filter(state__in=OPEN_STATES)
    counts = Counter(open_cases.values_list("risk", flat=True))
    assert sel.open_by_colour(world.district) == {"red": counts["red"], "orange": counts["orange"], "yellow": 0}
    assert CommandAlert.objects.count() == 1


def test_it_ranks_a_rate_only_over_enough_cases(scenario, world, settings):
    # 区司法局 handled 3 (2 on time), 公安分局 1 (on time): at 100%, the police would lead.
    settings.PUAN_RANKING_MIN_CASES = 2
    rows = sel.departments_for(unit=world.district, period=period())
    by_name = {r["department"]: r for r in rows}
    justice, police = by_name["区司法局"], by_name["公安分局"]
    assert (justice["rank"], justice["ranked"]) == (1, True)
    assert (police["rank"], police["ranked"], police["on_time_rate"]) == (None, False, 1.0)
    assert rows.index(police) > rows.index(justice)  # listed after every ranked department
    # Counts need no minimum: by cases handled, everybody has a place.
    by_handled = sel.departments_for(unit=world.district, period=period(), sort="handled")
    assert all(r["ranked"] for r in by_handled) and [r["rank"] for r in by_handled] == list(
        range(1, len(by_handled) + 1)
    )
