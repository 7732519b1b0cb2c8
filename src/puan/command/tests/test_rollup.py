"""The fold and the rebuild keep the roll-ups equal to the timeline; verify-kpis proves it
and catches any difference."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import F
from django.utils import timezone

from puan.cases import services as svc
from puan.cases.models import OPEN_STATES, Case, CaseEvent
from puan.command import rollup
from puan.command import selectors as sel
from puan.command.models import CaseFact, DailyRollup, DepartmentDailyRollup, HexRollup, OpenRollup, RollupState
from puan.command.tests.scenario import build, clock, day
from puan.command.verify import verify_kpis

pytestmark = pytest.mark.django_db
TABLES = (CaseFact, DailyRollup, DepartmentDailyRollup, HexRollup, OpenRollup)


def snapshot() -> dict:
    """Every roll-up as {key: counters}, rows that sum to nothing left out."""
    out = {}
    for model in TABLES:
        fields = [f.attname for f in model._meta.concrete_fields if f.attname != "id"]
        rows = model.objects.values_list(*fields)
        if model is CaseFact:
            out[model.__name__] = set(rows)
        else:
            keys = rollup.TABLES[
                {DailyRollup: "daily", DepartmentDailyRollup: "department", HexRollup: "hex"}.get(model, "open")
            ][1]
            out[model.__name__] = {r[: len(keys)]: r[len(keys) :] for r in rows if any(r[len(keys) :])}
    return out


def period() -> sel.Period:
    return sel.Period(day(1), timezone.localdate())


@pytest.fixture
def scenario(world):
    return build(world)


def _start_below_the_first_event() -> None:
    """As on a fresh database. (PostgreSQL's sequences outlive the rolled-back tests.)"""
    rollup.rollup_state()
    RollupState.objects.filter(pk=1).update(last_event_id=CaseEvent.objects.order_by("pk").first().pk - 1)


def test_it_folds_in_small_batches_to_exactly_what_a_rebuild_gives(scenario):
    _start_below_the_first_event()
    report = rollup.rollup_fold(batch=7)
    events = CaseEvent.objects.count()
    assert report.batches == events // 7 + 1 and report.events == events and report.gaps == 0
    folded = snapshot()
    assert rollup.rollup_fold().events == 0  # nothing new: nothing folded
    assert snapshot() == folded
    rebuilt = rollup.rollup_rebuild()
    assert rebuilt.cases == 9 and rebuilt.last_event_id == CaseEvent.objects.order_by("-pk").first().pk
    assert snapshot() == folded


def test_it_folds_a_new_move_into_the_figures_and_never_twice(scenario, world):
    rollup.rollup_fold()
    before = sel.kpis_for(unit=world.district, period=period())
    e = scenario.case("E")
    dispatcher = scenario.people.dispatcher
    with clock(timezone.now() - timedelta(minutes=5)):
        e = svc.case_triage(case=e, actor=dispatcher, version=e.version)
        e = svc.case_assign(case=e, actor=dispatcher, version=e.version)
        e = svc.case_start(case=e, actor=dispatcher, version=e.version)
        e = svc.case_resolve(case=e, actor=dispatcher, version=e.version, outcome="已处置")
    live = {"overdue"}  # counted from the case table at every request; the rest waits for the fold
    still = sel.kpis_for(unit=world.district, period=period())
    assert {k: v for k, v in still.items() if k not in live} == {k: v for k, v in before.items() if k not in live}
    assert still["overdue"] == before["overdue"] - 1  # E is no longer open
    assert rollup.rollup_fold().cases == 1
    after = sel.kpis_for(unit=world.district, period=period())
    assert (after["handled"], after["done"], after["tier_district"], after["open_red"]) == (
        6,
        6,
        before["tier_district"] + 1,
        0,
    )
    # Folding the same events again — a second worker, a retry — changes nothing.
    RollupState.objects.filter(pk=1).update(last_event_id=F("last_event_id") - 4)
    rollup.rollup_fold()
    assert sel.kpis_for(unit=world.district, period=period()) == after


def test_it_lets_only_one_worker_claim_the_fold(scenario):
    stale = rollup.rollup_state()
    assert rollup._claim(rollup.rollup_state())  # somebody else got there first
    assert not rollup._claim(stale)
    assert rollup.rollup_fold().skipped is False  # a fresh read claims normally


def test_it_waits_for_an_event_that_commits_late_under_a_lower_id(scenario, world):
    """PostgreSQL hands out ids before commit: the fold must not step over one for good."""
    _start_below_the_first_event()
    rollup.rollup_fold()
    a = scenario.case("A")
    top = CaseEvent.objects.order_by("-pk").first().pk
    # Another case's comment commits first, with an id three above the top...
    d = scenario.case("D")
    CaseEvent.objects.create(
        pk=top + 3,
        case=d,
        seq=d.version + 1,
        kind="comment",
        from_state=d.state,
        to_state=d.state,
        tier=d.tier,
        at=timezone.now(),
    )
    rollup.rollup_fold()
    state = rollup.rollup_state()
    assert state.last_event_id == top + 3 and [g[:2] for g in state.gaps] == [[top + 1, top + 2]]
    # ... then the lower id commits: a lateness mark inside A's handling cycle (planted
    # straight into the timeline, as a late sweep would have written it).
    resolve = CaseEvent.objects.get(case=a, kind="resolve")
    CaseEvent.objects.filter(case=a, seq__gte=resolve.seq).update(seq=F("seq") + 100)
    CaseEvent.objects.create(
        pk=top + 1,
        case=a,
        seq=resolve.seq,
        kind="overdue",
        from_state="in_progress",
        to_state="in_progress",
        tier=1,
        at=resolve.at,
    )
    before = sel.kpis_for(unit=world.district, period=period())["on_time"]
    report = rollup.rollup_fold()
    assert report.events == 1 and [g[:2] for g in rollup.rollup_state().gaps] == [[top + 2, top + 2]]
    assert sel.kpis_for(unit=world.district, period=period())["on_time"] == before - 1
    assert verify_kpis(period=period()).ok


def test_it_forgets_a_gap_after_its_time(scenario):
    rollup.rollup_fold()
    an_hour_ago = (timezone.now() - timedelta(hours=1)).timestamp()
    RollupState.objects.filter(pk=1).update(gaps=[[10**9, 10**9 + 5, an_hour_ago]])
    rollup.rollup_fold()
    assert rollup.rollup_state().gaps == []


def test_it_verifies_every_figure_and_finds_a_planted_difference(scenario, world):
    rollup.rollup_fold()
    report = verify_kpis(period=period(), units="all")
    assert report.ok, [d.as_line() for d in report.differences]
    assert report.cases == 9 and report.rows > 50 and report.figures > 100

    row = DailyRollup.objects.get(level=2, path=world.street_a.path, day=day(2))
    DailyRollup.objects.filter(pk=row.pk).update(handled=F("handled") + 1)
    OpenRollup.objects.filter(level=1).update(red=F("red") + 2)
    report = verify_kpis(period=period())
    found = {(d.what, d.key, d.figure) for d in report.differences}
    assert ("daily", f"2/{world.street_a.path}/{day(2)}", "handled") in found
    assert ("open", f"1/{world.district.path}", "red") in found
    assert ("指标[期内]", "长洲街", "handled") in found and ("指标[期内]", "黄埔区", "open_red") in found
    assert not report.ok

    out = io.StringIO()
    with pytest.raises(CommandError, match="处差异"):
        call_command("verify_kpis", stdout=out)
    assert "handled" in out.getvalue()
    call_command("rollup", "--rebuild", stdout=io.StringIO())
    out = io.StringIO()
    call_command("verify_kpis", "--units", "all", stdout=out)
    assert "无差异" in out.getvalue()


def test_it_checks_the_case_columns_the_live_figures_count(scenario):
    rollup.rollup_fold()
    g = scenario.case("G")
    type(g).objects.filter(pk=g.pk).update(risk="yellow")  # a column that disagrees with the timeline
    report = verify_kpis(period=period())
    assert [(d.what, d.figure, d.served, d.recomputed) for d in report.differences] == [
        ("案件风险等级", "risk", "yellow", "orange")
    ]


def test_it_counts_no_case_overdue_whose_deadline_passed_while_it_stood_still(scenario):
    rollup.rollup_fold()
    g = scenario.case("G")
    assert g.state in OPEN_STATES
    now = timezone.now()
    type(g).objects.filter(pk=g.pk).update(
        resolve_due_at=now - timedelta(hours=1), suspended_at=now - timedelta(hours=2)
    )
    report = verify_kpis(period=period())
    assert report.ok, [d.as_line() for d in report.differences]


def test_two_workers_folding_at_once_never_count_twice(transactional_db, world):
    """Two consumers fire the periodic fold at the same moment: the compare-and-set on the
    watermark lets one fold each batch; the other finds the version moved and stops."""
    import threading

    from django.db import connection

    build(world)
    _start_below_the_first_event()
    barrier = threading.Barrier(2)
    reports: list = []

    def worker() -> None:
        try:
            barrier.wait()
            reports.append(rollup.rollup_fold(batch=5))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(reports) == 2
    rollup.rollup_fold()  # what the one that gave up left behind
    folded = snapshot()
    rollup.rollup_rebuild()
    assert snapshot() == folded
    assert verify_kpis(period=period()).ok


def test_it_folds_every_minute_from_the_background_worker(scenario):
    from puan.command.tasks import command_rollup_task

    assert command_rollup_task.call_local() == CaseEvent.objects.count()
    assert command_rollup_task.call_local() == 0
    assert rollup.rollup_state().folded_at is not None


def test_it_rebuilds_rather_than_folds_a_bulk_load(scenario, monkeypatch):
    _start_below_the_first_event()
    monkeypatch.setattr(rollup, "REBUILD_BACKLOG", 10)
    report = rollup.rollup_fold()
    assert report.rebuilt and rollup.rollup_state().rebuilt_at is not None
    assert report.events == 0  # the rebuild took everything; nothing was left to fold
    # The operator is told what the rebuild took in, not that nothing was folded.
    cases, events = Case.objects.count(), CaseEvent.objects.count()
    assert report.as_line().startswith(f"积压过多，已重建汇总。重建完成：{cases:,} 件案件、{events:,} 条办理记录")
    assert "汇总 0 条" not in report.as_line()
    assert verify_kpis(period=period()).ok


def test_it_counts_a_resolution_after_the_deadline_as_late_before_any_sweep(scenario, world):
    rollup.rollup_fold()
    before = sel.kpis_for(unit=world.district, period=period())
    g = scenario.case("G")  # orange, registered at its street (云埔街)
    street = scenario.people.other_street
    moment = timezone.now() - timedelta(minutes=10)
    with clock(moment):
        for move in (svc.case_accept, svc.case_triage, svc.case_assign, svc.case_start):
            g = move(case=g, actor=street, version=g.version)
    # Its deadline passes and it is resolved a minute later, before any sweep has run.
    type(g).objects.filter(pk=g.pk).update(resolve_due_at=moment + timedelta(minutes=1))
    g.refresh_from_db()
    with clock(moment + timedelta(minutes=2)):
        g = svc.case_resolve(case=g, actor=street, version=g.version, outcome="已处置")
    assert g.events.get(kind="resolve").data["overdue"] is True
    assert not g.events.filter(kind__in=["overdue", "escalate"]).exists()
    rollup.rollup_fold()
    after = sel.kpis_for(unit=world.district, period=period())
    assert after["handled"] == before["handled"] + 1 and after["on_time"] == before["on_time"]
    assert CaseFact.objects.get(case_id=g.pk).on_time is False
    assert verify_kpis(period=period(), units="all").ok
