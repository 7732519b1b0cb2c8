"""The bulk loader's cases must be indistinguishable from ones the services and the
deadline sweep made: every invariant below is checked against the real code."""

from __future__ import annotations

import gc
import re
import sqlite3
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import numpy as np
import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection
from django.utils import timezone

from puan.accounts.models import User
from puan.accounts.roles import Role
from puan.cases import bulk
from puan.cases.bulk import DistrictNotLoaded, cases_bulk_load
from puan.cases.models import (
    OPEN_STATES,
    AssistStatus,
    AssistTask,
    Case,
    CaseEvent,
    CaseKind,
    CaseState,
    Channel,
    CommandAlert,
    Risk,
)
from puan.cases.risk import active_rules, grade
from puan.cases.routing import MIN_TIER_FOR_RISK, route, unit_at_tier
from puan.cases.services import _TRACKING_ALPHABET, STATE_TIMESTAMP
from puan.cases.transitions import MOVES
from puan.demo import demo_load
from puan.org import geo
from puan.org.models import Unit, UnitLevel
from puan.sla.engine import plan_for
from puan.taxonomy.models import Category, Lane

pytestmark = pytest.mark.django_db

# A fixed "now", so that the same seed always gives the same cases.
END = datetime(2026, 6, 30, 9, 0, tzinfo=UTC)
COUNT = 3000
DAYS = 60
CLOCK_MOVES = {"register", "triage", "assign", "escalate", "return", "reopen"}
LEVEL_OF_TIER = {1: UnitLevel.COMMUNITY, 2: UnitLevel.STREET, 3: UnitLevel.DISTRICT}


@pytest.fixture
def district(db):
    demo_load(password="x")


def _timelines(cases: list[Case]) -> dict[int, list[CaseEvent]]:
    by_case: dict[int, list[CaseEvent]] = defaultdict(list)
    for event in CaseEvent.objects.filter(case__in=cases).order_by("case_id", "seq"):
        by_case[event.case_id].append(event)
    return by_case


def _check_step(event: CaseEvent, previous: CaseEvent | None) -> None:
    """The step is one the system makes: a move from the transition table (at a tier it
    allows), intake, on-the-spot handling, or the deadline sweep's overdue mark."""
    if previous is None:
        assert (event.kind, event.from_state, event.to_state) == ("register", "", CaseState.REGISTERED)
        return
    assert event.from_state == previous.to_state, (event.case_id, event.seq)
    if event.kind == "resolve" and event.data.get("on_spot"):
        assert (event.seq, event.from_state, event.to_state) == (2, CaseState.REGISTERED, CaseState.RESOLVED)
        return
    if event.kind == "overdue":
        assert event.from_state == event.to_state and event.from_state in OPEN_STATES
        return
    move = MOVES[event.kind]
    assert event.from_state in move.sources, (event.kind, event.from_state)
    assert event.to_state == (move.target or event.from_state)
    tier_before = previous.tier
    assert move.min_tier <= tier_before <= move.max_tier, (event.kind, tier_before)


def _check_foreign_keys() -> None:
    """Foreign keys are deferred to commit, which a test never reaches: check them now."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # raises on a dangling reference
            return
        for model in (Case, CaseEvent, AssistTask, CommandAlert):
            cursor.execute(f'PRAGMA foreign_key_check("{model._meta.db_table}")')
            assert cursor.fetchall() == []


def _owner_tier_ok(case: Case, units: dict[int, Unit]) -> None:
    owner = units[case.owner_unit_id]
    assert owner.level == LEVEL_OF_TIER[case.tier]
    assert case.owner_path == owner.path and case.area_path.startswith(owner.path)


def test_it_loads_realistic_cases_the_services_could_have_made(district):
    report = cases_bulk_load(count=COUNT, seed=11, end=END, days=DAYS, batch_size=1000)
    assert report.cases == COUNT and report.database
    assert report.defaulted == set(), "teach the bulk loader what these new fields mean"
    _check_foreign_keys()
    cases = list(Case.objects.select_related("category").order_by("id"))
    assert len(cases) == COUNT
    assert sum(report.states.values()) == COUNT
    assert report.states == dict(Counter(c.state for c in cases))
    timelines = _timelines(cases)
    assert sum(len(t) for t in timelines.values()) == report.events == CaseEvent.objects.count()
    units = {u.pk: u for u in Unit.objects.defer("boundary")}
    rules = active_rules()
    alerts = Counter(CommandAlert.objects.values_list("case_id", flat=True))
    end = END.timestamp()
    unaccepted_looks: list[bool] = []
    escalated_red: list[int] = []

    for case in cases:
        events = timelines[case.pk]
        # The timeline: seq 1..version, time never going back, every step allowed.
        assert [e.seq for e in events] == list(range(1, case.version + 1))
        assert all(a.at <= b.at for a, b in pairwise(events))
        for i, event in enumerate(events):
            _check_step(event, events[i - 1] if i else None)
        assert events[-1].to_state == case.state
        assert events[0].at == case.created_at and events[-1].at == case.updated_at
        assert events[-1].at.timestamp() <= end
        assert events[0].tier == events[0].data["tier"]
        assert all(e.tier == e.data["tier"] for e in events if e.kind in ("escalate", "return"))
        assert events[-1].tier == case.tier

        # Per-state timestamps are those of the last event entering the state.
        for state, column in STATE_TIMESTAMP.items():
            entering = [e.at for e in events if e.to_state == state and e.from_state != state]
            assert getattr(case, column) == (entering[-1] if entering else None), (case.pk, column)

        # Place and routing.
        hit = geo.locate(case.lon, case.lat)
        assert hit is not None and hit.grid_id == case.grid_id and hit.path == case.area_path
        assert units[case.community_id].path == case.area_path[:24]
        assert units[case.street_id].path == case.area_path[:16]
        _owner_tier_ok(case, units)
        assert case.lead_department_id == case.category.lead_department_id
        graded = grade(case.risk_facts, rules)
        assert graded.colour == case.risk and list(graded.reasons) == case.risk_reasons
        assert case.tier >= MIN_TIER_FOR_RISK[Risk(case.risk)]
        register = events[0].data
        way = route(case.category, register["risk"])
        assert (register["lane"], register["tier"]) == (way.lane, way.tier)
        assert register["owner_unit"] == unit_at_tier(case.area_path, way.tier).pk
        assert register["channel"] == case.channel
        if case.risk == Risk.RED:
            assert alerts[case.pk] == 1
        else:
            assert case.pk not in alerts

        # The deadline clock: started by the last move that starts one, with the
        # policy's deadlines; the sweep has done what it would have by now.
        clock = max(i for i, e in enumerate(events) if e.kind in CLOCK_MOVES)
        assert case.sla_started_at == events[clock].at
        plan = plan_for(lane=case.lane, tier=case.tier, risk=case.risk, kind=case.kind, start=events[clock].at)
        assert (case.respond_due_at, case.resolve_due_at) == (plan.respond_due_at, plan.resolve_due_at)
        assert (case.sla_mark_50_at, case.sla_mark_80_at) == (plan.mark_50_at, plan.mark_80_at)
        marked = [e for e in events[clock:] if e.kind == "overdue"]
        assert case.is_overdue == bool(marked)
        if case.state in OPEN_STATES and not case.is_overdue:
            assert case.resolve_due_at > END and case.next_sla_at is not None
            if case.state in (CaseState.REGISTERED, CaseState.ACCEPTED) and case.sla_stage == 0:
                # Not yet triaged, on intake's clock: the sweep's first look is the response
                # deadline, unless it has passed by now or the 50% mark comes first.
                looks = [case.sla_mark_50_at] + ([case.respond_due_at] if case.respond_due_at > END else [])
                assert case.next_sla_at == min(looks), case.pk
                unaccepted_looks.append(case.respond_due_at > END)
        else:
            assert case.next_sla_at is None
        for event in events:
            if event.kind == "overdue":
                assert event.data["at"] == event.at.isoformat()
            if event.kind == "escalate" and event.data.get("by") == "sweep":
                assert event.actor_id is None and events[event.seq - 2].kind == "overdue"

        # An escalation that turns a case red puts it on the urgent lane, as the services do,
        # unless it is one of the hard kinds; nothing later takes it off.
        if any(e.kind == "escalate" and e.data["risk"] == Risk.RED for e in events):
            assert case.lane not in (Lane.SIMPLE, Lane.COMPLEX), (case.pk, case.lane)
            escalated_red.append(case.pk)

        # Satisfaction: the last rating; unsatisfied ratings reopen at once. A rating is the
        # citizen's own, or recorded after a callback by the unit above the case's tier
        # (the district's centre at the district), never by the unit that handled it.
        for i, event in enumerate(events):
            reopened_by_it = event.kind == "reopen" and event.data.get("because") == "unsatisfied"
            if event.kind == "rate" or reopened_by_it:
                rating = events[i - 1] if reopened_by_it else event  # the reopen is the rater's
                assert event.data["by"] == rating.data["by"] and event.actor_unit_id == rating.actor_unit_id
                if event.data["by"] == "citizen":
                    assert event.actor_unit_id is None
                else:
                    assert event.data["by"] == "callback"
                    above = case.area_path[:16] if event.tier == 1 else case.area_path[:8]  # street, district
                    assert units[event.actor_unit_id].path == above, (case.pk, event.seq)
        ratings = [e.data["satisfaction"] for e in events if e.kind == "rate"]
        assert case.satisfaction == (ratings[-1] if ratings else None)
        for i, event in enumerate(events):
            if event.kind == "rate" and event.data["satisfaction"] <= 2:
                assert events[i + 1].kind == "reopen" and events[i + 1].at == event.at
        assert bool(case.outcome) == any(e.kind == "resolve" for e in events)
        assert case.handled_on_spot == (len(events) > 1 and events[1].data.get("on_spot", False))
        if case.handled_on_spot:
            assert case.channel == Channel.PATROL and case.reporter_id is not None

    # Reports still waiting to be accepted whose response deadline is still to come, and
    # cases an escalation turned red.
    assert any(unaccepted_looks) and escalated_red

    # Assisting tasks: opened by an assign that names them, closed by their own event.
    for task in AssistTask.objects.select_related("case"):
        events = timelines[task.case_id]
        assign = [e for e in events if e.kind == "assign" and task.department_id in e.data["assists"]]
        assert len(assign) == 1 and assign[0].at == task.created_at and assign[0].tier >= 2
        closing = [e for e in events if e.kind == "close_assist" and e.data["task"] == task.pk]
        if task.status == AssistStatus.OPEN:
            assert not closing and task.closed_at is None
            assert task.case.state in OPEN_STATES
        else:
            assert len(closing) == 1 and closing[0].at == task.closed_at
            assert closing[0].data["status"] == task.status

    # Proportions in line with the source (DOMAIN.md) and every value present.
    n = len(cases)
    states = Counter(c.state for c in cases)
    for field, values in (
        ("risk", Risk.values),
        ("tier", [1, 2, 3]),
        ("kind", CaseKind.values),
        ("channel", Channel.values),
    ):
        seen = Counter(getattr(c, field) for c in cases)
        assert set(seen) == set(values), (field, set(values) - set(seen))
    colours = Counter(c.risk for c in cases)
    assert 0.74 < colours[Risk.YELLOW] / n < 0.86
    assert 0.10 < colours[Risk.ORANGE] / n < 0.20
    assert 0.025 < colours[Risk.RED] / n < 0.08
    tiers = Counter(c.tier for c in cases)
    assert tiers[1] > tiers[2] > tiers[3]
    channels = Counter(c.channel for c in cases)
    assert channels.most_common(2)[0][0] == Channel.PATROL and channels.most_common(2)[1][0] == Channel.HOTLINE
    # Open cases are the recent ones: a few old ones are stuck, most are from the last weeks.
    open_cases = [c for c in cases if c.state in OPEN_STATES]
    recent = [c for c in open_cases if c.created_at >= END - timedelta(days=30)]
    assert len(recent) >= 0.8 * len(open_cases)
    assert 0.8 < states[CaseState.CLOSED] / n < 0.97
    assert report.overdue == sum(c.is_overdue for c in open_cases)
    rated = [c.satisfaction for c in cases if c.satisfaction]
    assert sum(s >= 4 for s in rated) / len(rated) > 0.85

    # Tracking codes: the format intake uses, the local date of registration, unique.
    codes = [c.tracking_code for c in cases]
    assert len(set(codes)) == n
    pattern = re.compile(rf"^HP\d{{6}}[{_TRACKING_ALPHABET}]{{6}}$")
    for case in cases[:200]:
        assert pattern.match(case.tracking_code)
        assert case.tracking_code[2:8] == timezone.localtime(case.created_at).strftime("%y%m%d")
    # Reporters: grid workers of the grid on patrol, citizens otherwise.
    patrol = [c for c in cases if c.channel == Channel.PATROL]
    workers: dict[int, int] = {}
    for unit_id, user_id in (
        User.objects.filter(role_grants__role=Role.GRID_WORKER).order_by("id").values_list("unit_id", "id")
    ):
        workers.setdefault(unit_id, user_id)
    assert all(c.reporter_id == workers[c.grid_id] for c in patrol)
    assert not any(c.reporter_id for c in cases if c.channel != Channel.PATROL)
    phones = [c for c in cases if c.reporter_phone]
    assert 0 < len(phones) < 0.1 * n
    assert all(len(c.reporter_phone) == 11 and c.reporter_phone_index for c in phones)

    # The same seed gives the same cases again (planned without writing, to be quick).
    again = cases_bulk_load(count=COUNT, seed=11, end=END, days=DAYS, batch_size=1000, dry_run=True)
    assert (again.states, again.events, again.assists, again.alerts) == (
        report.states,
        report.events,
        report.assists,
        report.alerts,
    )
    other = cases_bulk_load(count=COUNT, seed=12, end=END, days=DAYS, batch_size=1000, dry_run=True)
    assert other.events != report.events

    # States that last hours (returned, reopened…) show at a busy district's density: a
    # dry run of two months of one, writing nothing.
    dry = cases_bulk_load(count=30_000, seed=11, end=END, days=60, dry_run=True)
    assert Case.objects.count() == n
    assert set(dry.states) == set(CaseState.values), set(CaseState.values) - set(dry.states)
    open_share = sum(v for k, v in dry.states.items() if k in OPEN_STATES) / dry.cases
    assert 0.02 < open_share < 0.12
    assert 0.01 < dry.states[CaseState.REJECTED] / dry.cases < 0.02
    assert 7 < dry.events / dry.cases < 11
    # A few hard cases are stuck past their deadline (the sweep took them up to the district).
    assert 0 < dry.overdue < 0.01 * dry.cases

    # A category an administrator added (no words of its own) still gets cases.
    Category.objects.filter(code="G11-01").update(code="G99-01", name="自定义事项")
    before = Case.objects.order_by("-id").values_list("id", flat=True).first()
    cases_bulk_load(count=300, seed=3, end=END, days=30)
    custom = Case.objects.filter(category__code="G99-01", pk__gt=before)
    assert custom.exists() and all("自定义事项" in c.title for c in custom)


def test_it_needs_a_loaded_district(db):
    with pytest.raises(DistrictNotLoaded):
        cases_bulk_load(count=10)
    assert not Case.objects.exists()


def _schema() -> set[tuple]:
    """Indexes and foreign keys of the tables the loader writes."""
    tables = [m._meta.db_table for m in (Case, CaseEvent, AssistTask, CommandAlert)]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                f"SELECT name, sql FROM sqlite_master WHERE tbl_name IN ({', '.join(['%s'] * len(tables))})", tables
            )
            return set(cursor.fetchall())
        cursor.execute("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)", [tables])
        indexes = set(cursor.fetchall())
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid::regclass::text = ANY(%s)",
            [tables],
        )
        return indexes | set(cursor.fetchall())


def test_it_loads_history_with_the_demo_command_once(db, capsys, monkeypatch):
    # Small enough for a test, yet through the path a first large load takes (indexes,
    # and on PostgreSQL foreign keys, built after the rows).
    monkeypatch.setattr(bulk, "ROWS_FIRST_FROM", 100)
    before = _schema()
    call_command("load_demo", cases=500)
    out = capsys.readouterr().out
    assert Case.objects.count() == 500
    assert "500 件案件" in out
    assert _schema() == before
    assert CaseEvent.objects.filter(case__in=Case.objects.all()).count() == CaseEvent.objects.count() > 3000
    call_command("load_demo", cases=500)
    assert Case.objects.count() == 500
    assert "已存在" in capsys.readouterr().out
    call_command("load_demo", cases=0)
    assert Case.objects.count() == 500


def _sqlite_pragma(name: str):
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA {name}")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_it_checks_a_first_loads_foreign_keys_and_leaves_all_or_nothing(monkeypatch):
    # Committed for real (no test transaction around it), as `make demo` runs: on SQLite,
    # the path that turns per-row foreign-key checks and the write-ahead log off.
    demo_load(password="x")
    monkeypatch.setattr(bulk, "ROWS_FIRST_FROM", 100)
    sqlite = connection.vendor == "sqlite"
    before = _schema()
    seen: set[tuple] = set()

    def watch(_cases: int) -> None:
        seen.add((_sqlite_pragma("journal_mode"), _sqlite_pragma("foreign_keys")))

    def load(**kwargs):
        seen.clear()
        progress = watch if sqlite else None
        return cases_bulk_load(count=300, end=END, days=30, batch_size=100, progress=progress, **kwargs)

    plan_batch = bulk.plan_batch

    def dangling(*args, **kwargs):
        planned = plan_batch(*args, **kwargs)
        kind, data = planned.cases.values["category_id"]
        data = np.array(data)
        data[-1] = 10**9  # no such category
        planned.cases.values["category_id"] = (kind, data)
        return planned

    monkeypatch.setattr(bulk, "plan_batch", dangling)
    with pytest.raises(IntegrityError):
        load(seed=5)
    assert not Case.objects.exists() and not CaseEvent.objects.exists()
    assert _schema() == before
    assert gc.isenabled()
    if sqlite:
        assert seen == {("truncate", 0)}
        assert (_sqlite_pragma("journal_mode"), _sqlite_pragma("foreign_keys")) == ("wal", 1)
    monkeypatch.setattr(bulk, "plan_batch", plan_batch)

    if sqlite:
        # Somebody else has the database open: batch by batch, through the log, checked.
        other = sqlite3.connect(connection.settings_dict["NAME"])
        try:
            other.execute("SELECT COUNT(*) FROM cases_case").fetchone()
            assert load(seed=6).cases == Case.objects.count() == 300
        finally:
            other.close()
        assert seen == {("wal", 1)}

    report = load(seed=5)
    assert report.cases == 300 and Case.objects.count() == (600 if sqlite else 300)
    assert CaseEvent.objects.count() >= report.events > 0
    assert _schema() == before
    if sqlite:
        assert seen == {("truncate", 0)}
        assert (_sqlite_pragma("journal_mode"), _sqlite_pragma("foreign_keys")) == ("wal", 1)
    _check_foreign_keys()
