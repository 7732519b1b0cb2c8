"""The clauses of the case spine that a walk through the loop does not pin: every fact of
the colour table at its threshold, the table as an administrator edits it, a category's
own tier and lane, assisting departments above the community only and waived only with a
reason, the state timestamps the loop does not pass, the reopen window's edge, the
duplicate rule's settings, repeat petitioners by ID number, and side effects after commit."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from puan.cases import services as svc
from puan.cases.models import AssistTask, Case, CaseState, Risk, RiskRule
from puan.cases.risk import active_rules, clean_facts, grade
from puan.cases.tests.helpers import IN_GRID_A1, People, intake
from puan.core.errors import Conflict, InvalidInput
from puan.taxonomy.models import Lane

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(world):
    return People(world)


def in_progress(people, case, actor=None):
    actor = actor or people.community
    for move in (svc.case_accept, svc.case_triage, svc.case_assign, svc.case_start):
        case = move(case=case, actor=actor, version=case.version)
    return case


@pytest.mark.parametrize(
    ("facts", "colour", "reason"),
    [
        ({"people_involved": 4}, Risk.YELLOW, "未触发预警规则"),
        ({"people_involved": 5}, Risk.ORANGE, "涉及5人以上"),
        ({"people_involved": 30}, Risk.RED, "涉及30人以上"),
        ({"group_incident": True}, Risk.RED, "存在群体性事件苗头"),
        ({"public_place": True}, Risk.ORANGE, "发生在公共场所"),
        ({"vulnerable_people": True}, Risk.ORANGE, "涉及老幼病残孕等弱势群体"),
        ({"injury": True}, Risk.ORANGE, "已造成人员受伤"),
        ({"danger_to_life": True}, Risk.RED, "危及生命安全"),
        ({"property_loss": 99_999}, Risk.YELLOW, "未触发预警规则"),
        ({"property_loss": 100_000}, Risk.ORANGE, "财产损失10万元以上"),
        ({"property_loss": 1_000_000}, Risk.RED, "财产损失100万元以上"),
        ({"safety_hazard": True}, Risk.ORANGE, "存在安全隐患"),
        ({"repeat_reports": 2}, Risk.ORANGE, "同一事项重复反映"),
        ({"repeat_reports": 5}, Risk.RED, "同一事项多次反映、持续发酵"),
        ({"escalations": 2}, Risk.RED, "多次上报仍未化解"),
        ({"public_place": True, "safety_hazard": True}, Risk.RED, "两个以上维度达到橙色"),
    ],
)
def test_it_grades_every_fact_of_the_table_at_its_threshold(world, facts, colour, reason):
    graded = grade(clean_facts(facts), active_rules())
    assert graded.colour == colour and reason in graded.reasons


def test_it_grades_by_the_rule_table_as_an_administrator_edits_it(world, people, django_capture_on_commit_callbacks):
    assert intake(people.grid_worker, facts={"people_involved": 6}).case.risk == Risk.ORANGE
    # An edit takes effect once committed: at once in this process, within a minute in others.
    with django_capture_on_commit_callbacks(execute=True):
        rule = RiskRule.objects.get(code="impact-people-5")
        rule.threshold = 10
        rule.save()
    again = intake(people.grid_worker, facts={"people_involved": 6}, lon_lat=(113.408, 23.108)).case
    assert again.risk == Risk.YELLOW
    with django_capture_on_commit_callbacks(execute=True):
        hazard = RiskRule.objects.get(code="harm-hazard")
        hazard.is_active = False
        hazard.save()
    assert intake(people.grid_worker, facts={"safety_hazard": True}, lon_lat=(113.402, 23.102)).case.risk == Risk.YELLOW


def test_it_routes_by_the_categorys_own_tier_and_lane(world, people):
    street = intake(people.grid_worker, category="G04-03").case  # 涉黄涉赌涉毒线索: street, complex
    assert (street.tier, street.lane, street.owner_unit_id) == (2, Lane.COMPLEX, world.street_a.pk)
    district = intake(people.grid_worker, category="G02-01", lon_lat=(113.408, 23.108)).case  # 涉黑涉恶线索
    assert (district.tier, district.lane, district.owner_unit_id) == (3, Lane.DIFFICULT, world.district.pk)
    fight = intake(people.grid_worker, category="G04-01", lon_lat=(113.402, 23.102)).case  # 打架斗殴
    assert (fight.tier, fight.lane, fight.owner_unit_id) == (1, Lane.URGENT, world.community_a.pk)


def test_it_keeps_assisting_departments_to_the_street_and_above(world, people):
    case = in_progress(people, intake(people.grid_worker).case)
    with pytest.raises(Conflict) as refused:
        svc.case_add_assist(
            case=case, actor=people.community, version=case.version, department_id=world.police.pk, task="派民警"
        )
    assert refused.value.code == "wrong_tier"
    assert not AssistTask.objects.filter(case=case).exists()


def test_it_waives_an_assisting_task_only_with_a_reason(world, people):
    case = in_progress(people, intake(people.grid_worker, category="G04-03").case, actor=people.street)
    case = svc.case_add_assist(
        case=case, actor=people.street, version=case.version, department_id=world.justice.pk, task="协助核查"
    )
    task = AssistTask.objects.get(case=case)
    with pytest.raises(InvalidInput) as refused:
        svc.case_close_assist(case=case, actor=people.street, version=case.version, task_id=task.pk, status="waived")
    assert refused.value.field == "note"
    case = svc.case_close_assist(
        case=case, actor=people.street, version=case.version, task_id=task.pk, status="waived", note="已另行处理"
    )
    task.refresh_from_db()
    assert (task.status, task.note) == ("waived", "已另行处理")
    case = svc.case_resolve(case=case, actor=people.street, version=case.version, outcome="已查处")
    assert case.state == CaseState.RESOLVED


def test_it_stamps_the_rejected_returned_and_reopened_states(world, people):
    rejected = intake(people.grid_worker).case
    rejected = svc.case_reject(case=rejected, actor=people.community, version=rejected.version, note="不属于受理范围")
    assert rejected.state == CaseState.REJECTED and rejected.rejected_at is not None
    case = in_progress(people, intake(people.grid_worker, lon_lat=(113.408, 23.108)).case)
    case = svc.case_escalate(case=case, actor=people.community, version=case.version, note="需街道协调")
    case = svc.case_return(case=case, actor=people.street, version=case.version, note="社区先行调解")
    assert case.state == CaseState.RETURNED and case.returned_at is not None
    case = svc.case_assign(case=case, actor=people.community, version=case.version)
    case = svc.case_start(case=case, actor=people.community, version=case.version)
    case = svc.case_resolve(case=case, actor=people.community, version=case.version, outcome="已调解")
    case = svc.case_verify(case=case, actor=people.street, version=case.version)
    case = svc.case_reopen(case=case, actor=people.grid_worker, version=case.version, note="又吵起来了")
    assert case.state == CaseState.REOPENED and case.reopened_at is not None
    assert case.reopened_at >= case.returned_at


@pytest.mark.parametrize(
    ("days_ago", "reopens"), [(timedelta(days=15) - timedelta(minutes=5), True), (timedelta(days=15, minutes=5), False)]
)
def test_it_reopens_on_an_unsatisfied_rating_up_to_the_fifteenth_day(world, people, days_ago, reopens):
    case = in_progress(people, intake(people.grid_worker).case)
    case = svc.case_resolve(case=case, actor=people.community, version=case.version, outcome="已协调")
    case = svc.case_verify(case=case, actor=people.street, version=case.version)
    Case.objects.filter(pk=case.pk).update(resolved_at=timezone.now() - days_ago)
    case.refresh_from_db()
    case = svc.case_rate(case=case, actor=people.grid_worker, version=case.version, satisfaction=2)
    assert case.state == (CaseState.REOPENED if reopens else CaseState.RATED)


def test_it_links_duplicates_by_the_configured_radius_and_window(world, people, settings):
    lon, lat = IN_GRID_A1
    first = intake(people.grid_worker).case
    settings.PUAN_DUPLICATE_RADIUS_M = 30
    assert not intake(people.volunteer, channel="app", lon_lat=(lon + 0.0005, lat + 0.0003)).linked  # ~60 m
    settings.PUAN_DUPLICATE_RADIUS_M = 400
    assert intake(people.volunteer, channel="app", lon_lat=(lon + 0.003, lat)).case.pk == first.pk  # ~300 m
    settings.PUAN_DUPLICATE_WINDOW_HOURS = 2
    later = svc.IntakeInput(
        kind="dispute", channel="patrol", category_code="G15-01", title="t", description="d", lon=lon, lat=lat
    )
    assert not svc.case_intake(actor=people.grid_worker, data=later, now=timezone.now() + timedelta(hours=3)).linked


def test_it_recognises_a_repeat_petitioner_by_id_number(world, people):
    first = intake(
        people.community, channel="window", kind="petition", category="G16-01", reporter_id_number="11010519491231002X"
    )
    second = intake(
        people.community,
        channel="letter",
        kind="petition",
        category="G16-01",
        reporter_id_number="11010519491231002x",  # the same person, written another way
        lon_lat=(113.425, 23.105),
    )
    assert not second.linked and second.similar_earlier == 1
    assert second.case.reporter_id_index == first.case.reporter_id_index != ""
    assert second.case.risk_facts["repeat_reports"] == 1


def test_it_logs_a_red_case_only_once_it_is_committed(world, people, caplog, django_capture_on_commit_callbacks):
    with caplog.at_level(logging.WARNING, logger="puan.cases.services"):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            case = intake(people.grid_worker, facts={"danger_to_life": True}).case
        assert case.risk == Risk.RED and "red case" not in caplog.text
        for callback in callbacks:
            callback()
    assert f"red case {case.tracking_code}" in caplog.text


def test_it_stores_a_cases_personal_data_encrypted(world, people):
    from django.db import connection

    case = intake(
        people.community,
        channel="window",
        reporter_phone="13912345678",
        reporter_id_number="11010519491231002X",
        parties=[svc.PartyInput(role="respondent", name="陈国强", phone="13700001111")],
    ).case
    with connection.cursor() as cursor:
        cursor.execute("SELECT reporter_phone, reporter_id_number FROM cases_case WHERE id = %s", [case.pk])
        stored = cursor.fetchone()
        cursor.execute("SELECT phone FROM cases_caseparty WHERE case_id = %s", [case.pk])
        stored += cursor.fetchone()
    assert all(
        value and "1391234" not in value and "110105" not in value and "1370000" not in value for value in stored
    )
    case.refresh_from_db()
    assert (case.reporter_phone, case.parties.get().phone) == ("13912345678", "13700001111")
