from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from puan.cases import services as svc
from puan.cases.models import AssistStatus, AssistTask, Case, CaseEvent, CaseParty, CaseState, CommandAlert, Risk
from puan.cases.tests.helpers import IN_GRID_A1, IN_GRID_B1, People, intake
from puan.cases.transitions import allowed_actions
from puan.core.errors import ConcurrentChange, Conflict, InvalidInput, NotAllowed
from puan.taxonomy.models import Lane

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(world):
    return People(world)


def timeline(case):
    return list(CaseEvent.objects.filter(case=case).order_by("seq").values_list("kind", flat=True))


def test_it_takes_a_report_in_routed_to_its_community(world, people):
    result = intake(people.grid_worker)
    case = result.case
    assert not result.linked
    assert (case.state, case.risk, case.tier, case.lane) == (CaseState.REGISTERED, Risk.YELLOW, 1, Lane.SIMPLE)
    assert case.grid_id == world.grid_a1.pk
    assert case.community_id == world.community_a.pk and case.street_id == world.street_a.pk
    assert case.owner_unit_id == world.community_a.pk
    assert case.lead_department.code == "dept.justice"
    assert case.respond_due_at < case.resolve_due_at
    assert case.tracking_code.startswith("HP") and len(case.tracking_code) == 14
    assert timeline(case) == ["register"]


def test_it_dates_a_tracking_code_by_the_districts_calendar():
    from datetime import UTC, datetime

    late_evening_in_utc = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)  # 04:00 the next day in Shanghai
    codes = {svc.new_tracking_code(late_evening_in_utc) for _ in range(50)}
    assert all(code[:8] == "HP261129" and len(code) == 14 for code in codes)
    assert all(set(code[8:]) <= set(svc._TRACKING_ALPHABET) for code in codes)
    assert len(codes) == 50  # random enough that nobody guesses another person's case


def test_it_refuses_a_point_outside_the_district(world, people):
    with pytest.raises(InvalidInput) as err:
        intake(people.grid_worker, lon_lat=(114.0, 24.0))
    assert err.value.field == "lon"
    assert Case.objects.count() == 0


def test_it_grades_red_sends_it_to_the_district_and_raises_an_alert(world, people):
    case = intake(people.grid_worker, facts={"danger_to_life": True, "people_involved": 3}).case
    assert case.risk == Risk.RED
    assert "危及生命安全" in case.risk_reasons
    assert case.tier == 3 and case.owner_unit_id == world.district.pk
    assert case.lane == Lane.URGENT
    assert CommandAlert.objects.filter(case=case).count() == 1


def test_it_grades_orange_to_at_least_the_street(world, people):
    case = intake(people.grid_worker, facts={"people_involved": 6}).case
    assert case.risk == Risk.ORANGE and case.tier == 2 and case.owner_unit_id == world.street_a.pk
    assert case.risk_reasons == ["涉及5人以上"]


def test_it_lifts_two_orange_dimensions_to_red(world, people):
    case = intake(people.grid_worker, facts={"people_involved": 6, "injury": True}).case
    assert case.risk == Risk.RED
    assert "两个以上维度达到橙色" in case.risk_reasons


def test_it_links_a_second_report_nearby_instead_of_duplicating(world, people):
    first = intake(people.grid_worker).case
    lon, lat = IN_GRID_A1
    second = intake(people.volunteer, channel="app", lon_lat=(lon + 0.0005, lat + 0.0003))  # ~60 m away
    assert second.linked and second.case.pk == first.pk
    assert Case.objects.count() == 1
    first.refresh_from_db()
    assert first.report_count == 2
    assert timeline(first) == ["register", "duplicate_report"]
    # Far away, another category, or after the window: a new case.
    assert not intake(people.grid_worker, lon_lat=(lon + 0.003, lat)).linked  # ~300 m
    assert not intake(people.grid_worker, category="G11-01").linked
    later = svc.IntakeInput(
        kind="dispute", channel="patrol", category_code="G15-01", title="t", description="d", lon=lon, lat=lat
    )
    assert not svc.case_intake(actor=people.grid_worker, data=later, now=timezone.now() + timedelta(hours=80)).linked


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's duplicate-check function")
def test_intakes_duplicate_check_on_postgresql_finds_what_the_plain_query_finds(world, people):
    """On PostgreSQL intake reads the candidates through a function (migration 0010) that
    holds its own copy of the query: the two must agree on every point, whatever is open,
    closed, old or of another category nearby, and both put the earliest case first."""
    lon, lat = IN_GRID_A1
    spots = [(lon, lat), (lon + 0.002, lat), (lon, lat + 0.002), (lon - 0.002, lat - 0.002)]  # ~200 m apart
    cases = [intake(people.grid_worker, lon_lat=spot).case for spot in spots]
    Case.objects.filter(pk=cases[0].pk).update(state=CaseState.CLOSED)
    Case.objects.filter(pk=cases[3].pk).update(created_at=timezone.now() - timedelta(hours=100))
    # Open, but of another category, where the only case of this one is closed.
    assert not intake(people.grid_worker, category="G11-01", lon_lat=spots[0]).linked
    # Two open cases within reach of the same points: the earlier one is the answer.
    Case.objects.filter(pk=cases[1].pk).update(lon=spots[2][0] + 0.0003, lat=spots[2][1])
    category = cases[0].category_id
    now = timezone.now()
    offsets = ((0, 0), (0.0008, 0), (0, -0.0007), (0.0009, 0.0009), (-0.0008, 0))
    probes = [(x + dx, y + dy) for x, y in spots for dx, dy in offsets]
    found = []
    for x, y in probes:
        with transaction.atomic():
            taking_turn = svc._find_duplicate(category, x, y, now, take_turn=True)
        assert taking_turn == svc._find_duplicate(category, x, y, now), (x, y)
        found.append(taking_turn)
    assert set(found) == {None, cases[1].pk, cases[2].pk}
    at_spot_2 = found[10:15]
    assert at_spot_2[0] == cases[1].pk  # both within reach: the earlier
    assert at_spot_2[4] == cases[2].pk  # 80 m west, out of the moved case's reach


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's advisory locks")
@pytest.mark.django_db(transaction=True)
def test_intakes_duplicate_check_on_postgresql_holds_the_categorys_turn_until_commit():
    """Reports of one category take turns from their duplicate check to their commit: the
    lock is the transaction's, taken by the check, and released by the commit alone."""
    import psycopg

    category, lock = 424242, [svc._INTAKE_LOCK_CLASS, 424242]
    settings = connection.settings_dict
    other = psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        password=settings["PASSWORD"] or None,
        autocommit=True,
    )

    def others_turn() -> bool:
        with other.transaction():
            return other.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", lock).fetchone()[0]

    try:
        assert others_turn()  # nobody holds it before
        with transaction.atomic():
            assert others_turn()  # the transaction alone takes no turn
            assert svc._find_duplicate(category, 113.405, 23.105, timezone.now(), take_turn=True) is None
            assert not others_turn()  # taken by the check, held to the end of the transaction
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            assert not others_turn()
        assert others_turn()  # released at the commit
    finally:
        other.close()


def test_it_turns_repeated_reports_orange_then_red(world, people):
    case = intake(people.grid_worker).case
    for _ in range(2):
        intake(people.volunteer, channel="app")
    case.refresh_from_db()
    assert case.risk == Risk.ORANGE and case.report_count == 3
    # Orange belongs with the street: the case goes there at once, on a fresh clock, as its
    # own step on the timeline.
    assert case.tier == 2 and case.owner_unit_id == world.street_a.pk
    assert timeline(case)[-2:] == ["duplicate_report", "route_orange"]
    assert case.sla_started_at > case.created_at
    for _ in range(3):
        intake(people.volunteer, channel="app")
    case.refresh_from_db()
    assert case.risk == Risk.RED and case.tier == 3 and case.owner_unit_id == world.district.pk
    # On the clock of a case reported red: the urgent lane, 24 hours from now.
    assert case.lane == Lane.URGENT and case.resolve_due_at - timezone.now() <= timedelta(hours=24)


def test_it_recognises_a_repeat_reporter_by_blind_index(world, people):
    first = intake(people.community, channel="window", reporter_phone="13912345678", category="G16-01", kind="petition")
    second = intake(
        people.community,
        channel="window",
        reporter_phone="+86 139 1234 5678",
        category="G16-01",
        kind="petition",
        lon_lat=IN_GRID_B1,
    )
    assert not second.linked and second.similar_earlier == 1
    assert second.case.reporter_phone_index == first.case.reporter_phone_index
    assert second.case.risk_facts["repeat_reports"] == 1


def test_it_keeps_the_people_a_joined_report_names(world, people):
    lon, lat = IN_GRID_A1
    first = intake(people.community, channel="window", reporter_name="王建国", reporter_phone="13912345678").case
    nearby = (lon + 0.0004, lat)
    joined = {
        "reporter_name": "李秀英",
        "reporter_phone": "13822223333",
        "parties": [svc.PartyInput(role="respondent", name="陈国强", phone="13700001111")],
    }
    assert intake(people.community, channel="hotline", lon_lat=nearby, **joined).linked
    # Told again by the same people, and once more by the case's own reporter: nobody twice.
    assert intake(people.community, channel="hotline", lon_lat=nearby, **joined).linked
    assert intake(people.community, channel="hotline", lon_lat=nearby, reporter_phone="139 1234 5678").linked
    # Known by their phone, though they now give their ID number as well.
    with_id = {**joined, "reporter_id_number": "11010519491231002X"}
    assert intake(people.community, channel="hotline", lon_lat=nearby, **with_id).linked
    parties = sorted((p.role, p.name, p.phone) for p in CaseParty.objects.filter(case=first))
    assert parties == [("reporter", "李秀英", "13822223333"), ("respondent", "陈国强", "13700001111")]
    # The joined reporter is recognised when they report again, elsewhere.
    again = intake(people.community, channel="hotline", lon_lat=IN_GRID_B1, reporter_phone="13822223333")
    assert not again.linked and again.similar_earlier == 1


def test_it_refuses_internal_categories_and_staff_channels_to_citizens(world, people):
    with pytest.raises(InvalidInput) as err:
        intake(people.volunteer, channel="app", category="G02-01")
    assert err.value.field == "category"
    with pytest.raises(InvalidInput) as err:
        intake(people.volunteer, channel="hotline")
    assert err.value.field == "channel"
    with pytest.raises(NotAllowed):
        intake(people.leader)


def test_it_handles_a_small_matter_on_the_spot_with_evidence(world, people):
    from puan.cases.attachments import attachment_upload

    photo = attachment_upload(actor=people.grid_worker, name="现场.png", content=b"\x89PNG\r\n\x1a\n" + b"0" * 100)
    case = intake(
        people.grid_worker, category="G11-03", handled_on_spot=True, outcome="已清理小广告", evidence_ids=[photo.pk]
    ).case
    assert case.state == CaseState.RESOLVED and case.handled_on_spot and case.version == 2
    assert timeline(case) == ["register", "resolve"]
    assert list(case.attachments.values_list("pk", flat=True)) == [photo.pk]
    with pytest.raises(InvalidInput) as err:
        intake(people.grid_worker, category="G11-03", handled_on_spot=True, outcome="已处理", lon_lat=IN_GRID_B1)
    assert err.value.field == "evidence_ids"
    with pytest.raises(NotAllowed):
        intake(people.community, category="G11-03", handled_on_spot=True, outcome="x", evidence_ids=[photo.pk])


def walk_to_in_progress(people, case):
    case = svc.case_accept(case=case, actor=people.community, version=case.version)
    case = svc.case_triage(case=case, actor=people.community, version=case.version)
    case = svc.case_assign(case=case, actor=people.community, version=case.version)
    return svc.case_start(case=case, actor=people.community, version=case.version)


def walk_to_verified(people, case, outcome="已协调"):
    """A community case handled by the community and checked by the street above it."""
    case = walk_to_in_progress(people, case)
    case = svc.case_resolve(case=case, actor=people.community, version=case.version, outcome=outcome)
    return svc.case_verify(case=case, actor=people.street, version=case.version)


def test_it_runs_the_whole_closed_loop_with_a_complete_timeline(world, people):
    case = intake(people.grid_worker).case
    case = walk_to_in_progress(people, case)
    case = svc.case_escalate(case=case, actor=people.community, version=case.version, note="双方分歧大，需街道会诊")
    assert (case.state, case.tier, case.owner_unit_id) == (CaseState.ESCALATED, 2, world.street_a.pk)
    case = svc.case_add_assist(
        case=case, actor=people.street, version=case.version, department_id=world.police.pk, task="派民警到场了解情况"
    )
    case = svc.case_assign(case=case, actor=people.street, version=case.version)
    case = svc.case_start(case=case, actor=people.justice, version=case.version)  # the lead department
    with pytest.raises(Conflict) as err:
        svc.case_resolve(case=case, actor=people.street, version=case.version, outcome="调解成功")
    assert err.value.code == "assists_open"
    task = AssistTask.objects.get(case=case)
    case = svc.case_close_assist(
        case=case, actor=people.police, version=case.version, task_id=task.pk, status="done", note="已到场"
    )
    case = svc.case_resolve(case=case, actor=people.justice, version=case.version, outcome="人民调解达成协议")
    case = svc.case_verify(case=case, actor=people.dispatcher, version=case.version)
    case = svc.case_rate(case=case, actor=people.grid_worker, version=case.version, satisfaction=5)
    case = svc.case_close(case=case, actor=people.dispatcher, version=case.version)
    assert case.state == CaseState.CLOSED
    events = list(CaseEvent.objects.filter(case=case).order_by("seq"))
    assert [e.seq for e in events] == list(range(1, case.version + 1))
    assert [e.kind for e in events] == [
        "register",
        "accept",
        "triage",
        "assign",
        "start",
        "escalate",
        "add_assist",
        "assign",
        "start",
        "close_assist",
        "resolve",
        "verify",
        "rate",
        "close",
    ]
    for stamp in (
        "accepted_at",
        "triaged_at",
        "assigned_at",
        "started_at",
        "escalated_at",
        "resolved_at",
        "verified_at",
        "rated_at",
        "closed_at",
    ):
        assert getattr(case, stamp) is not None, stamp


def test_it_reopens_on_an_unsatisfied_rating(world, people):
    case = walk_to_in_progress(people, intake(people.grid_worker).case)
    case = svc.case_resolve(case=case, actor=people.community, version=case.version, outcome="已协调")
    case = svc.case_verify(case=case, actor=people.street, version=case.version)
    case = svc.case_rate(case=case, actor=people.grid_worker, version=case.version, satisfaction=1, note="没解决")
    assert case.state == CaseState.REOPENED and case.satisfaction == 1
    assert timeline(case)[-2:] == ["rate", "reopen"]


def test_it_lets_a_higher_tier_return_a_case_with_instructions(world, people):
    case = walk_to_in_progress(people, intake(people.grid_worker).case)
    case = svc.case_escalate(case=case, actor=people.community, version=case.version, note="需要街道协调")
    with pytest.raises(InvalidInput) as err:
        svc.case_return(case=case, actor=people.street, version=case.version, note="")
    assert err.value.field == "note"
    case = svc.case_return(case=case, actor=people.street, version=case.version, note="属小事，请社区继续调解")
    assert (case.state, case.tier, case.owner_unit_id) == (CaseState.RETURNED, 1, world.community_a.pk)
    with pytest.raises(Conflict):  # tier 1 cannot return further
        svc.case_return(case=case, actor=people.community, version=case.version, note="x")


def test_it_keeps_a_red_case_at_the_district_and_an_orange_one_above_the_community(world, people):
    red = intake(people.grid_worker, facts={"danger_to_life": True}).case
    assert (red.risk, red.tier) == (Risk.RED, 3)
    red = svc.case_accept(case=red, actor=people.dispatcher, version=red.version)
    red = svc.case_triage(case=red, actor=people.dispatcher, version=red.version)
    with pytest.raises(Conflict) as err:
        svc.case_return(case=red, actor=people.dispatcher, version=red.version, note="请街道处理")
    assert err.value.code == "tier_below_risk" and "红色" in err.value.message
    orange = intake(people.grid_worker, facts={"vulnerable_people": True}, lon_lat=(113.4065, 23.1065)).case
    orange = svc.case_accept(case=orange, actor=people.street, version=orange.version)
    orange = svc.case_triage(case=orange, actor=people.street, version=orange.version)
    assert (orange.risk, orange.tier) == (Risk.ORANGE, 2)
    with pytest.raises(Conflict) as err:
        svc.case_return(case=orange, actor=people.street, version=orange.version, note="请社区处理")
    assert err.value.code == "tier_below_risk"
    assert Case.objects.get(pk=orange.pk).tier == 2 and timeline(orange) == ["register", "accept", "triage"]


def test_it_refuses_a_stale_version_and_moves_nobody_else_owns(world, people):
    case = intake(people.grid_worker).case
    with pytest.raises(ConcurrentChange):
        svc.case_accept(case=case, actor=people.community, version=case.version + 5)
    with pytest.raises(NotAllowed):
        svc.case_accept(case=case, actor=people.justice, version=case.version)
    with pytest.raises(NotAllowed):
        svc.case_accept(case=case, actor=people.leader, version=case.version)
    with pytest.raises(Conflict) as err:
        svc.case_resolve(case=case, actor=people.community, version=case.version, outcome="x")
    assert err.value.code == "wrong_state"
    assert timeline(case) == ["register"]


def test_it_lets_a_dispatcher_override_the_colour_with_a_reason(world, people):
    case = intake(people.grid_worker).case
    with pytest.raises(InvalidInput):
        svc.case_override_risk(case=case, actor=people.dispatcher, version=case.version, risk="red", note="")
    case = svc.case_override_risk(
        case=case, actor=people.dispatcher, version=case.version, risk="red", note="当事人扬言过激行为"
    )
    assert case.risk == Risk.RED and case.tier == 3 and case.risk_override == "当事人扬言过激行为"
    assert CommandAlert.objects.filter(case=case).exists()
    # New facts keep the override.
    case = svc.case_update_facts(case=case, actor=people.dispatcher, version=case.version, facts={"injury": True})
    assert case.risk == Risk.RED and case.risk_facts["injury"] == 1


def test_it_leaves_the_colour_override_to_dispatchers(world, people):
    case = walk_to_in_progress(people, intake(people.grid_worker).case)
    for someone in (people.street, people.community, people.grid_worker):
        with pytest.raises(NotAllowed):
            svc.case_override_risk(case=case, actor=someone, version=case.version, risk="red", note="我看应为红色")
    assert Case.objects.get(pk=case.pk).risk == Risk.YELLOW


def test_it_lets_graver_facts_end_an_override_and_no_lesser_ones(world, people):
    case = walk_to_in_progress(people, intake(people.grid_worker).case)
    case = svc.case_override_risk(
        case=case, actor=people.dispatcher, version=case.version, risk="orange", note="需关注"
    )
    # Facts that grade no higher than the override leave it standing.
    case = svc.case_update_facts(case=case, actor=people.grid_worker, version=case.version, facts={"injury": True})
    assert (case.risk, case.risk_override) == (Risk.ORANGE, "需关注")
    # Danger to life outranks the dispatcher's earlier judgement: red, the district, an alert.
    case = svc.case_update_facts(
        case=case, actor=people.grid_worker, version=case.version, facts={"danger_to_life": True}
    )
    assert (case.risk, case.risk_override, case.tier) == (Risk.RED, "", 3)
    assert CommandAlert.objects.filter(case=case).exists()
    assert any("生命" in reason for reason in case.risk_reasons)


def test_it_keeps_an_override_that_lowered_the_colour_until_graver_facts_come(world, people):
    case = intake(people.grid_worker, facts={"danger_to_life": True}).case
    case = svc.case_override_risk(
        case=case, actor=people.dispatcher, version=case.version, risk="yellow", note="误报，已核实无人员危险"
    )
    # Nothing graver than the facts the dispatcher judged: the override stands.
    case = svc.case_update_facts(case=case, actor=people.dispatcher, version=case.version, facts={"people_involved": 1})
    assert (case.risk, case.risk_override) == (Risk.YELLOW, "误报，已核实无人员危险")


def test_it_puts_a_case_escalated_into_red_on_the_urgent_lane(world, people):
    # Escalated once before (returned since): one more escalation turns it red.
    case = walk_to_in_progress(people, intake(people.grid_worker, facts={"escalations": 1}).case)
    assert (case.risk, case.lane, case.tier) == (Risk.YELLOW, Lane.SIMPLE, 1)
    case = svc.case_escalate(case=case, actor=people.community, version=case.version, note="久拖未决")
    assert (case.risk, case.tier, case.lane) == (Risk.RED, 3, Lane.URGENT)
    assert case.resolve_due_at - timezone.now() <= timedelta(hours=24)


def test_it_never_lowers_the_colour_for_a_repeated_report(world, people):
    lon_lat = (113.4055, 23.1055)
    case = intake(people.grid_worker, facts={"repeat_reports": 3}, lon_lat=lon_lat).case
    assert case.risk == Risk.ORANGE
    linked = intake(people.community, lon_lat=lon_lat)
    assert linked.linked and linked.case.pk == case.pk
    case.refresh_from_db()
    assert case.risk == Risk.ORANGE and case.risk_facts["repeat_reports"] == 3 and case.report_count == 2


def test_it_regrades_when_new_facts_arrive(world, people):
    case = intake(people.grid_worker).case
    case = svc.case_update_facts(
        case=case, actor=people.grid_worker, version=case.version, facts={"vulnerable_people": True}
    )
    # Orange needs the street, as a report graded orange at intake goes there.
    assert case.risk == Risk.ORANGE and (case.tier, case.owner_unit_id) == (2, world.street_a.pk)
    case = svc.case_update_facts(
        case=case, actor=people.grid_worker, version=case.version, facts={"danger_to_life": True}
    )
    assert case.risk == Risk.RED and case.tier == 3


def test_it_puts_a_case_that_turns_red_on_the_clock_of_a_case_reported_red(world, people):
    reported_red = intake(people.grid_worker, facts={"danger_to_life": True}, lon_lat=(113.406, 23.106)).case
    turned = walk_to_in_progress(people, intake(people.grid_worker).case)
    assert (turned.lane, turned.tier) == (Lane.SIMPLE, 1)
    before = timezone.now()
    turned = svc.case_update_facts(
        case=turned, actor=people.grid_worker, version=turned.version, facts={"danger_to_life": True}
    )
    assert (turned.risk, turned.tier, turned.lane) == (Risk.RED, 3, reported_red.lane) == (Risk.RED, 3, Lane.URGENT)
    assert timedelta(hours=23) < turned.resolve_due_at - before <= timedelta(hours=24, minutes=1)
    assert timedelta(minutes=29) < turned.respond_due_at - before <= timedelta(minutes=31)


def test_it_keeps_closed_cases_immutable_except_reopen(world, people):
    case = walk_to_in_progress(people, intake(people.grid_worker).case)
    case = svc.case_resolve(case=case, actor=people.community, version=case.version, outcome="已协调")
    case = svc.case_verify(case=case, actor=people.dispatcher, version=case.version)
    case = svc.case_close(case=case, actor=people.dispatcher, version=case.version)
    for attempt in (
        lambda: svc.case_comment(case=case, actor=people.dispatcher, version=case.version, note="x"),
        lambda: svc.case_update_facts(case=case, actor=people.dispatcher, version=case.version, facts={"injury": 1}),
        lambda: svc.case_escalate(case=case, actor=people.dispatcher, version=case.version, note="x"),
    ):
        with pytest.raises(Conflict):
            attempt()
    case = svc.case_reopen(case=case, actor=people.dispatcher, version=case.version, note="群众再次来电反映")
    assert case.state == CaseState.REOPENED


def test_it_reopens_on_an_unsatisfied_rating_only_within_15_days(world, people):
    case = walk_to_in_progress(people, intake(people.grid_worker).case)
    case = svc.case_resolve(case=case, actor=people.community, version=case.version, outcome="已协调")
    case = svc.case_verify(case=case, actor=people.street, version=case.version)
    Case.objects.filter(pk=case.pk).update(resolved_at=timezone.now() - timedelta(days=16))
    case.refresh_from_db()
    case = svc.case_rate(case=case, actor=people.grid_worker, version=case.version, satisfaction=1, note="没解决")
    # Too late to reopen by rating: the verdict is kept, the case stays rated.
    assert case.state == CaseState.RATED and case.satisfaction == 1
    assert timeline(case)[-1] == "rate"
    with pytest.raises(Conflict) as late:
        svc.case_reopen(case=case, actor=people.grid_worker, version=case.version, note="还是没解决")
    assert late.value.code == "reopen_window_passed"


def test_it_takes_the_citizens_verdict_from_them_or_a_callback_never_from_the_handler(world, people):
    case = walk_to_verified(people, intake(people.grid_worker).case)
    # The community that handled the case may not grade its own work.
    with pytest.raises(NotAllowed):
        svc.case_rate(case=case, actor=people.community, version=case.version, satisfaction=5)
    assert "rate" not in allowed_actions(case, people.community, assist_departments=set())
    assert "rate" in allowed_actions(case, people.street, assist_departments=set())
    # The street above it records the reporter's verdict after calling them back.
    case = svc.case_rate(case=case, actor=people.street, version=case.version, satisfaction=4, note="电话回访")
    rated = CaseEvent.objects.get(case=case, kind="rate")
    assert rated.data == {"satisfaction": 4, "by": "callback"} and rated.actor == people.street
    # The reporter's own verdict is theirs, unmarked.
    other = walk_to_verified(people, intake(people.grid_worker, lon_lat=(113.408, 23.108)).case)  # ~400 m off
    other = svc.case_rate(case=other, actor=people.grid_worker, version=other.version, satisfaction=5)
    assert CaseEvent.objects.get(case=other, kind="rate").data == {"satisfaction": 5, "by": "reporter"}
    # Staff who registered a visitor's report at the window are not its reporter: the
    # community that took it in and handled it cannot grade it, under either name.
    visit = walk_to_verified(people, intake(people.community, channel="window", lon_lat=(113.402, 23.102)).case)
    assert visit.reporter_id == people.community.pk
    assert "rate" not in allowed_actions(visit, people.community, assist_departments=set())
    with pytest.raises(NotAllowed):
        svc.case_rate(case=visit, actor=people.community, version=visit.version, satisfaction=5)
    # Nor when one of its own staff reported it for themselves, in the app.
    own = walk_to_verified(people, intake(people.community, channel="app", lon_lat=(113.402, 23.108)).case)
    assert "rate" not in allowed_actions(own, people.community, assist_departments=set())
    with pytest.raises(NotAllowed) as refused:
        svc.case_rate(case=own, actor=people.community, version=own.version, satisfaction=5)
    assert "上级单位回访" in refused.value.message


def test_it_asks_a_department_again_once_its_task_is_closed(world, people):
    case = walk_to_in_progress(people, intake(people.grid_worker).case)
    case = svc.case_escalate(case=case, actor=people.community, version=case.version, note="需街道协调")
    case = svc.case_add_assist(
        case=case, actor=people.street, version=case.version, department_id=world.police.pk, task="派民警到场"
    )
    task = AssistTask.objects.get(case=case)
    case = svc.case_close_assist(
        case=case, actor=people.police, version=case.version, task_id=task.pk, status="done", note="已到场"
    )
    # Asked again later, the department gets its task back open; while it is open it
    # cannot be asked twice.
    case = svc.case_add_assist(
        case=case, actor=people.street, version=case.version, department_id=world.police.pk, task="再次到场核实"
    )
    task.refresh_from_db()
    assert (task.status, task.task, task.note, task.closed_at) == (AssistStatus.OPEN, "再次到场核实", "", None)
    assert AssistTask.objects.filter(case=case).count() == 1
    added = CaseEvent.objects.filter(case=case, kind="add_assist").order_by("seq")
    assert [e.data for e in added] == [
        {"department": world.police.pk, "task": task.pk},
        {"department": world.police.pk, "task": task.pk, "again": True},
    ]
    closed = CaseEvent.objects.get(case=case, kind="close_assist")
    assert (closed.note, closed.data["status"]) == ("已到场", "done")
    with pytest.raises(Conflict) as err:
        svc.case_add_assist(
            case=case, actor=people.street, version=case.version, department_id=world.police.pk, task="第三次"
        )
    assert err.value.code == "duplicate_assist"
    # Done once more, the department can be named again when the case is assigned.
    case = svc.case_close_assist(
        case=case, actor=people.police, version=case.version, task_id=task.pk, status="done", note="已核实"
    )
    case = svc.case_assign(
        case=case, actor=people.street, version=case.version, assists=[(world.police.pk, "协助执行调解协议")]
    )
    task.refresh_from_db()
    assert (task.status, task.task) == (AssistStatus.OPEN, "协助执行调解协议")
    assigned = CaseEvent.objects.filter(case=case, kind="assign").order_by("seq").last()
    assert assigned.data["assists"] == assigned.data["assists_again"] == [world.police.pk]
    # The task open again holds the resolution back, as any open task does.
    case = svc.case_start(case=case, actor=people.justice, version=case.version)
    with pytest.raises(Conflict) as err:
        svc.case_resolve(case=case, actor=people.justice, version=case.version, outcome="已处理")
    assert err.value.code == "assists_open"


def test_it_lights_the_command_centre_each_time_a_case_turns_red(world, people):
    case = intake(people.grid_worker, facts={"danger_to_life": True}).case
    alerts = CommandAlert.objects.filter(case=case)
    assert alerts.count() == 1

    def override(colour: str, why: str) -> Case:
        return svc.case_override_risk(case=case, actor=people.dispatcher, version=case.version, risk=colour, note=why)

    # Staying red raises nothing; each new red spell raises one alert.
    case = svc.case_update_facts(case=case, actor=people.dispatcher, version=case.version, facts={"injury": True})
    case = override("red", "确认红色")
    assert alerts.count() == 1
    case = override("orange", "已核实，危险已排除")
    assert alerts.count() == 1
    case = override("red", "现场情况反复")
    assert alerts.count() == 2


def test_it_alerts_when_repeated_reports_turn_a_district_case_red(world, people):
    case = intake(people.grid_worker).case
    # Already with the district (sent up earlier): turning red moves it nowhere, yet the
    # command centre must see it.
    Case.objects.filter(pk=case.pk).update(tier=3, owner_unit=world.district, owner_path=world.district.path)
    for _ in range(5):
        intake(people.volunteer, channel="app")
    case.refresh_from_db()
    assert (case.risk, case.tier) == (Risk.RED, 3)
    assert "route_red" not in timeline(case)
    assert CommandAlert.objects.filter(case=case).count() == 1


def test_it_regrades_a_case_by_what_a_joining_report_tells(world, people):
    case = intake(people.grid_worker, facts={"people_involved": 3}).case
    assert (case.risk, case.tier) == (Risk.YELLOW, 1)
    # Told again, now with danger to life: the case turns red, goes to the district and
    # lights up the command centre. A fact told lower (fewer people) changes nothing.
    joined = intake(people.volunteer, channel="app", facts={"danger_to_life": True, "people_involved": 1})
    assert joined.linked and joined.case.pk == case.pk
    case.refresh_from_db()
    assert (case.risk, case.tier, case.owner_unit_id) == (Risk.RED, 3, world.district.pk)
    assert case.risk_facts["danger_to_life"] == 1 and case.risk_facts["people_involved"] == 3
    assert timeline(case)[-2:] == ["duplicate_report", "route_red"]
    assert CommandAlert.objects.filter(case=case).count() == 1
