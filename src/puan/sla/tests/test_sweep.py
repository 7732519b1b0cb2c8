from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from puan.accounts.roles import Role
from puan.accounts.tests.factories import make_user
from puan.cases import services as svc
from puan.cases.models import Case, CaseEvent, CaseState
from puan.cases.tests.helpers import People, intake
from puan.core.errors import Conflict, InvalidInput, NotAllowed
from puan.sla import services as sla
from puan.sla.sweep import sweep

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(world):
    return People(world)


def owner(people, case):
    return {1: people.community, 2: people.street, 3: people.dispatcher}[case.tier]


def in_progress(people, **kwargs):
    case = intake(people.grid_worker, **kwargs).case
    for move in (svc.case_accept, svc.case_triage, svc.case_assign, svc.case_start):
        case = move(case=case, actor=owner(people, case), version=case.version)
    return case


def inbox(user) -> list[str]:
    from puan.notifications.models import Notification

    return list(Notification.objects.filter(recipient=user).order_by("pk").values_list("kind", flat=True))


def test_it_reminds_the_owner_of_a_report_not_accepted_by_its_response_deadline(
    people, django_capture_on_commit_callbacks
):
    waiting = intake(people.grid_worker, category="G11-05").case  # a missing manhole cover: urgent
    accepted = intake(people.grid_worker, category="G11-05", lon_lat=(113.4065, 23.1065)).case
    assert waiting.lane == "urgent" and waiting.respond_due_at - waiting.created_at == timedelta(minutes=30)
    assert waiting.next_sla_at == waiting.respond_due_at < waiting.sla_mark_50_at
    svc.case_accept(case=accepted, actor=people.community, version=accepted.version)
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep(now=waiting.respond_due_at - timedelta(seconds=1)).reminded_respond == 0
        assert sweep(now=waiting.respond_due_at + timedelta(minutes=1)).reminded_respond == 1
        assert sweep(now=waiting.respond_due_at + timedelta(minutes=2)).reminded_respond == 0  # never twice
    assert inbox(people.community) == ["sla_respond_overdue"]
    for case in (waiting, accepted):
        case.refresh_from_db()
        assert (case.sla_stage, case.next_sla_at) == (0, case.sla_mark_50_at)
    # The 50% mark comes as before.
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep(now=max(waiting.sla_mark_50_at, accepted.sla_mark_50_at)).reminded_50 == 2


def test_it_keeps_the_response_look_of_a_report_that_moves_up_before_anyone_accepts_it(
    people, django_capture_on_commit_callbacks
):
    from puan.sla.models import SlaPolicy

    SlaPolicy.objects.create(
        name="橙色事项", risk="orange", respond_minutes=60, resolve_minutes=7 * 24 * 60, working_time=False
    )
    street = people.street  # exists before the reminder is sent
    case = intake(people.grid_worker).case  # yellow, the community, not yet accepted
    case = svc.case_update_facts(
        case=case, actor=people.grid_worker, version=case.version, facts={"vulnerable_people": True}
    )
    # Orange: the street, on the orange policy's clock, its first look still the response deadline.
    assert (case.risk, case.tier, case.state) == ("orange", 2, CaseState.REGISTERED)
    assert case.resolve_due_at - case.sla_started_at == timedelta(days=7)
    assert case.next_sla_at == case.respond_due_at
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep(now=case.respond_due_at + timedelta(minutes=1)).reminded_respond == 1
    assert "sla_respond_overdue" in inbox(street)


def test_it_reminds_at_half_and_four_fifths_then_escalates_once(people, world, django_capture_on_commit_callbacks):
    street = people.street  # exists before the escalation reaches the street
    case = in_progress(people)
    assert case.next_sla_at == case.sla_mark_50_at
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep(now=case.sla_mark_50_at - timedelta(seconds=1)).reminded_50 == 0
        assert sweep(now=case.sla_mark_50_at).reminded_50 == 1
        assert sweep(now=case.sla_mark_50_at).reminded_50 == 0  # never twice
        assert sweep(now=case.sla_mark_80_at).reminded_80 == 1
    assert inbox(people.community) == ["sla_reminder_50", "sla_reminder_80"]
    case.refresh_from_db()
    assert (case.sla_stage, case.next_sla_at) == (2, case.resolve_due_at)
    with django_capture_on_commit_callbacks(execute=True):
        report = sweep(now=case.resolve_due_at + timedelta(minutes=1))
    assert (report.overdue, report.escalated) == (1, 1)
    case.refresh_from_db()
    assert case.state == CaseState.ESCALATED and case.tier == 2 and case.owner_unit_id == world.street_a.pk
    assert not case.is_overdue and case.sla_stage == 0 and case.next_sla_at == case.sla_mark_50_at
    kinds = list(CaseEvent.objects.filter(case=case).order_by("seq").values_list("kind", "actor"))
    assert kinds[-1] == ("escalate", None)
    assert case.events.order_by("seq").last().data["overdue"] is True
    assert [e.seq for e in case.events.order_by("seq")] == list(range(1, case.version + 1))
    assert "case_escalated" in inbox(street)
    assert "sla_overdue" in inbox(people.community)
    assert sweep(now=case.resolve_due_at - timedelta(minutes=1)).escalated == 0


def test_it_sends_a_report_nobody_accepted_in_time_up_a_tier_to_accept_or_refuse(
    people, world, django_capture_on_commit_callbacks
):
    street, community = people.street, people.community  # exist before the sweep writes to them
    case = intake(people.grid_worker).case  # yellow, the community, never accepted
    colour, lane = case.risk, case.lane
    with django_capture_on_commit_callbacks(execute=True):
        report = sweep(now=case.resolve_due_at + timedelta(minutes=1))
    assert (report.overdue, report.escalated) == (1, 1)
    case.refresh_from_db()
    # The street has it now, still to be accepted or refused, on a fresh clock whose first
    # look is the response deadline; its colour and lane are what they were.
    assert (case.state, case.tier, case.owner_unit_id) == (CaseState.REGISTERED, 2, world.street_a.pk)
    assert (case.risk, case.lane) == (colour, lane)
    assert not case.is_overdue and case.next_sla_at == min(case.respond_due_at, case.sla_mark_50_at)
    last = case.events.order_by("seq").last()
    assert [e.kind for e in case.events.order_by("seq")] == ["register", "overdue"]
    assert (last.tier, last.data["owner_unit"], last.data["sent_up"]) == (2, world.street_a.pk, True)
    assert "case_escalated" in inbox(street) and "sla_overdue" in inbox(community)
    assert sweep(now=case.resolve_due_at - timedelta(minutes=1)).escalated == 0
    refused = svc.case_reject(case=case, actor=street, version=case.version, note="不属于受理范围")
    assert refused.state == CaseState.REJECTED


def test_it_skips_straight_to_the_latest_mark(people):
    case = in_progress(people)
    report = sweep(now=case.sla_mark_80_at + timedelta(minutes=1))
    assert (report.reminded_50, report.reminded_80) == (0, 1)


def test_it_marks_overdue_at_the_district_without_escalating(people, world):
    case = intake(people.grid_worker, facts={"danger_to_life": True}).case  # red: district, urgent lane
    case = svc.case_accept(case=case, actor=people.dispatcher, version=case.version)
    report = sweep(now=case.resolve_due_at + timedelta(seconds=1))
    assert (report.overdue, report.escalated) == (1, 0)
    case.refresh_from_db()
    assert case.is_overdue and case.tier == 3 and case.next_sla_at is None
    assert sla.case_clock(case).light == "overdue"


def test_it_leaves_finished_and_suspended_cases_alone(people):
    done = in_progress(people)
    done = svc.case_resolve(case=done, actor=people.community, version=done.version, outcome="已处理")
    assert done.next_sla_at is None
    paused = in_progress(people, lon_lat=(113.412, 23.102))
    paused = sla.case_request_suspension(
        case=paused, actor=people.community, version=paused.version, note="当事人住院，无法调解"
    )
    paused = sla.case_decide_request(case=paused, actor=people.street, version=paused.version, approve=True)
    assert sla.case_clock(paused).light == "paused"
    far = timezone.now() + timedelta(days=60)
    report = sweep(now=far)
    assert report.overdue == 0 and report.reminded_50 == 0


def test_it_moves_deadlines_on_by_the_paused_time(people):
    case = in_progress(people)
    due = case.resolve_due_at
    case = sla.case_request_suspension(case=case, actor=people.community, version=case.version, note="等待鉴定结果")
    case = sla.case_decide_request(case=case, actor=people.street, version=case.version, approve=True)
    Case.objects.filter(pk=case.pk).update(suspended_at=case.suspended_at - timedelta(days=7))
    case.refresh_from_db()
    case = sla.case_resume(case=case, actor=people.community, version=case.version)
    assert case.suspended_at is None
    assert case.resolve_due_at > due + timedelta(days=4)  # five working days of pause, at least
    assert [e.kind for e in case.events.order_by("seq")][-3:] == ["request_suspension", "decide_request", "resume"]


def suspended(people, case):
    case = sla.case_request_suspension(case=case, actor=people.community, version=case.version, note="等待鉴定结果")
    return sla.case_decide_request(case=case, actor=people.street, version=case.version, approve=True)


def test_it_ends_a_suspension_when_a_move_starts_a_fresh_clock(people):
    case = suspended(people, in_progress(people))
    case = svc.case_escalate(case=case, actor=people.community, version=case.version, note="调解不成，上报街道")
    assert case.suspended_at is None and case.next_sla_at == case.sla_mark_50_at
    assert sla.case_clock(case).light == "green"
    assert case.events.order_by("seq").last().data["suspension_ended"] is True
    # The street's new clock is watched by the sweep like any other.
    assert sweep(now=case.sla_mark_50_at).reminded_50 == 1


def test_it_counts_lateness_on_the_clock_that_stood_still(people, world):
    from puan.command.selectors import overdue_count

    now = timezone.now()
    on_time = suspended(people, in_progress(people))
    late = suspended(people, in_progress(people, lon_lat=(113.412, 23.102)))
    # Both deadlines have passed now; only the second passed before its clock was stopped.
    Case.objects.filter(pk=on_time.pk).update(
        resolve_due_at=now - timedelta(hours=1), suspended_at=now - timedelta(hours=2)
    )
    Case.objects.filter(pk=late.pk).update(
        resolve_due_at=now - timedelta(hours=2), suspended_at=now - timedelta(hours=1)
    )
    assert overdue_count(world.district, now) == 1
    resolved = {}
    for case in (on_time, late):
        case.refresh_from_db()
        case = svc.case_resolve(case=case, actor=people.community, version=case.version, outcome="已调解")
        resolved[case.pk] = case.events.order_by("seq").last().data.get("overdue", False)
    assert resolved == {on_time.pk: False, late.pk: True}


def test_it_grants_one_extension_with_approval(people):
    petition = in_progress(people, category="G16-02", kind="petition")  # difficult lane, petition policy
    assert (petition.resolve_due_at - petition.sla_started_at).days == 60
    due = petition.resolve_due_at
    handler = owner(people, petition)
    petition = sla.case_request_extension(
        case=petition, actor=handler, version=petition.version, note="涉及历史遗留问题，需多部门会商"
    )
    with pytest.raises(InvalidInput):
        sla.case_decide_request(case=petition, actor=people.dispatcher, version=petition.version, approve=False)
    petition = sla.case_decide_request(case=petition, actor=people.dispatcher, version=petition.version, approve=True)
    assert petition.extended and petition.resolve_due_at == due + timedelta(days=30)
    with pytest.raises(Conflict) as err:
        sla.case_request_extension(case=petition, actor=handler, version=petition.version, note="再延一次")
    assert err.value.code == "already_extended"


def test_it_lets_nobody_approve_their_own_request(people):
    petition = in_progress(people, category="G16-02", kind="petition")
    handler = owner(people, petition)
    petition = sla.case_request_extension(case=petition, actor=handler, version=petition.version, note="需会商")
    with pytest.raises(NotAllowed):
        sla.case_decide_request(case=petition, actor=handler, version=petition.version, approve=True)
    assert not Case.objects.get(pk=petition.pk).extended
    colleague = make_user(Role.DISPATCHER, unit=handler.unit, username="dispatcher_on_duty")
    # The case page and the API offer the decision to the colleague only, and neither
    # offers a second request while this one is pending, nor resuming a running clock.
    from django.test import Client

    pages, offered = {}, {}
    for who in (handler, colleague):
        client = Client()
        client.force_login(who)
        pages[who.pk] = client.get(f"/work/cases/{petition.pk}/").content.decode()
        offered[who.pk] = set(client.get(f"/api/v1/cases/{petition.pk}").json()["allowed_actions"])
    assert 'id="move-decide_request"' not in pages[handler.pk]
    assert 'id="move-decide_request"' in pages[colleague.pk]
    assert "decide_request" not in offered[handler.pk] and "decide_request" in offered[colleague.pk]
    for who in (handler, colleague):
        assert not offered[who.pk] & {"resume", "request_suspension", "request_extension"}, who
    petition = sla.case_decide_request(case=petition, actor=colleague, version=petition.version, approve=True)
    assert petition.extended


def test_it_refuses_an_extension_the_policy_does_not_allow(people):
    case = in_progress(people)  # simple lane: no extension
    with pytest.raises(Conflict) as err:
        sla.case_request_extension(case=case, actor=people.community, version=case.version, note="来不及")
    assert err.value.code == "not_extendable"


def test_it_runs_from_the_command_line_at_a_simulated_moment(people, capsys):
    case = in_progress(people)
    at = (case.sla_mark_50_at + timedelta(minutes=1)).isoformat()
    call_command("sweep", "--at", at)
    assert "50%提醒 1 件" in capsys.readouterr().out
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="ISO 8601"):
        call_command("sweep", "--at", "next tuesday")


def test_it_shows_remaining_time_and_the_light(people, api):
    case = in_progress(people)
    body = api.login_as(people.community).get(f"/api/v1/cases/{case.pk}").json()
    assert body["sla_light"] == "green" and body["remaining_seconds"] > 0
    Case.objects.filter(pk=case.pk).update(sla_mark_50_at=timezone.now() - timedelta(minutes=1))
    assert api.get(f"/api/v1/cases/{case.pk}").json()["sla_light"] == "yellow"


@pytest.mark.django_db(transaction=True)
def test_it_never_acts_twice_when_two_sweeps_run_at_once(world):
    people = People(world)
    cases = [
        in_progress(people, lon_lat=(113.4005 + (i % 15) * 0.0013, 23.1005 + (i // 15) * 0.004)) for i in range(30)
    ]
    moment = max(c.resolve_due_at for c in cases) + timedelta(minutes=1)
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        url = f"sqlite:///{settings_dict['NAME']}"
    else:
        url = (
            f"postgres://{settings_dict['USER']}@{settings_dict['HOST'] or '127.0.0.1'}:"
            f"{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
        )
    env = {**os.environ, "DATABASE_URL": url, "PUAN_TESTING": "1", "PUAN_HUEY_IMMEDIATE": "1"}
    command = [sys.executable, "-m", "puan.cli", "sweep", "--at", moment.isoformat()]
    runs = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    for case in cases:
        kinds = list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))
        assert kinds.count("escalate") == 1 and "overdue" not in kinds, kinds
        case.refresh_from_db()
        assert case.tier == 2
        assert [e.seq for e in case.events.order_by("seq")] == list(range(1, case.version + 1))


def test_it_finishes_even_when_a_row_says_due_but_nothing_can_advance_it(people):
    case = in_progress(people)
    # Inconsistent by hand: due now, but already past every stage the sweep could take.
    Case.objects.filter(pk=case.pk).update(sla_stage=3, next_sla_at=timezone.now() - timedelta(minutes=1))
    report = sweep(now=timezone.now())
    assert (report.overdue, report.reminded_50, report.reminded_80) == (0, 0, 0)


def test_it_starts_the_clock_at_assignment_and_restarts_it_on_escalation_and_return(people, world):
    from puan.command.tests.scenario import clock
    from puan.sla.engine import plan_for

    def expected(case, start):
        return plan_for(lane=case.lane, tier=case.tier, risk=case.risk, kind=case.kind, start=start)

    case = intake(people.grid_worker).case
    case = svc.case_accept(case=case, actor=people.community, version=case.version)
    case = svc.case_triage(case=case, actor=people.community, version=case.version)
    base = timezone.now().replace(microsecond=0)
    for hours, move, actor, extra in (
        (1, svc.case_assign, people.community, {}),
        (2, svc.case_start, people.community, {}),
        (3, svc.case_escalate, people.community, {"note": "需要街道协调"}),
        (4, svc.case_return, people.street, {"note": "请社区继续调解"}),
    ):
        moment = base + timedelta(hours=hours)
        started = case.sla_started_at
        with clock(moment):
            case = move(case=case, actor=actor, version=case.version, **extra)
        if move is svc.case_start:  # starting work does not restart the clock
            assert case.sla_started_at == started
            continue
        plan = expected(case, moment)
        assert case.sla_started_at == moment, move.__name__
        assert (case.respond_due_at, case.resolve_due_at) == (plan.respond_due_at, plan.resolve_due_at)
        assert (case.sla_stage, case.next_sla_at) == (0, plan.mark_50_at)
    assert case.tier == 1  # escalated to the street (tier 2) and returned


def test_the_periodic_task_runs_the_sweep_every_minute(people):
    from datetime import datetime

    from puan.sla.tasks import sla_sweep_task

    periodic = sla_sweep_task.s()  # the task as the consumer's scheduler sees it
    assert all(periodic.validate_datetime(datetime(2026, 11, 28, 9, m)) for m in (0, 17, 59))  # every minute
    case = in_progress(people)
    Case.objects.filter(pk=case.pk).update(
        sla_mark_50_at=timezone.now() - timedelta(minutes=1), next_sla_at=timezone.now() - timedelta(minutes=1)
    )
    sla_sweep_task.call_local()
    case.refresh_from_db()
    assert case.sla_stage == 1 and case.events.count() == case.version


@pytest.mark.parametrize(
    ("redis_url", "huey_class"), [("", "huey.SqliteHuey"), ("redis://127.0.0.1:6379/0", "huey.RedisHuey")]
)
def test_it_queues_background_work_in_sqlite_or_in_redis_when_configured(redis_url, huey_class, tmp_path):
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "PUAN_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "puan.settings",
    }
    code = "import django; django.setup(); from django.conf import settings as s; print(s.HUEY['huey_class'])"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == huey_class


def test_make_demo_starts_the_worker_beside_the_web_server():
    from pathlib import Path

    import puan

    makefile = (Path(puan.__file__).resolve().parents[2] / "Makefile").read_text()
    demo = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "run_huey" in demo and "runserver" in demo
    assert demo.index("run_huey") < demo.index("runserver")
