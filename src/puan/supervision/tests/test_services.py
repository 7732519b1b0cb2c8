from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from puan.accounts.roles import Role
from puan.accounts.tests.factories import make_user
from puan.cases.models import CaseEvent
from puan.cases.tests.helpers import People
from puan.core.errors import ConcurrentChange, Conflict, InvalidInput, NotAllowed
from puan.notifications.models import Notification
from puan.org.models import Unit, UnitLevel
from puan.org.services import unit_create
from puan.supervision import services as svc
from puan.supervision.models import OrderState, SupervisionEvent, SupervisionOrder
from puan.supervision.tests.factories import (
    assert_case_timeline_whole,
    assert_order_timeline_whole,
    case_in,
    issue,
    make_head,
    overdue_case,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(world):
    return People(world)


def notified(kind: str) -> set[int]:
    return set(Notification.objects.filter(kind=kind).values_list("recipient_id", flat=True))


def past_deadline(order: SupervisionOrder, hours: int = 1) -> None:
    SupervisionOrder.objects.filter(pk=order.pk).update(deadline=timezone.now() - timedelta(hours=hours))
    order.refresh_from_db()


# --- issue ----------------------------------------------------------------------------


def test_it_numbers_orders_per_kind_and_year(people, world):
    year = timezone.localdate().year
    cases = [overdue_case(people, world.grid_a1)]
    first = issue(people, world.community_a, cases)
    second = issue(people, world.community_a, cases)
    check = issue(people, world.community_a, cases, kind="verification")
    notice = issue(people, world.street_a, kind="notice", response_required=False)
    assert [first.code, second.code, check.code, notice.code] == [
        f"DB{year}-0001",
        f"DB{year}-0002",
        f"HC{year}-0001",
        f"TB{year}-0001",
    ]
    assert first.state == OrderState.ISSUED and first.version == 1
    assert first.issuing_unit == world.district and first.issued_by == people.dispatcher
    assert list(first.events.values_list("seq", "kind")) == [(1, "issue")]


def test_it_writes_the_order_on_every_covered_cases_timeline(people, world):
    cases = [overdue_case(people, world.grid_a1), overdue_case(people, world.grid_a2)]
    before = {c.pk: c.version for c in cases}
    order = issue(people, world.community_a, cases)
    assert set(order.cases.values_list("pk", flat=True)) == set(before)
    for case in cases:
        assert_case_timeline_whole(case)
        assert case.version == before[case.pk] + 1
        event = CaseEvent.objects.get(case=case, seq=case.version)
        assert event.kind == "supervision_issued" and order.code in event.note
        assert event.data["code"] == order.code and event.actor == people.dispatcher
        assert event.from_state == event.to_state == case.state


def test_it_tells_the_addressed_unit(people, world, django_capture_on_commit_callbacks):
    head = make_head(world.community_a, Role.LEADER, username="head_a")
    handler, _ = people.community, people.other_community
    with django_capture_on_commit_callbacks(execute=True):
        order = issue(people, world.community_a, [overdue_case(people, world.grid_a1)])
    assert notified("supervision_issued") == {handler.pk, head.pk}
    assert Notification.objects.get(recipient=head).order_id == order.pk


@pytest.mark.parametrize("who", ["street", "leader", "community", "street_dispatcher"])
def test_it_lets_only_dispatchers_of_the_centre_issue(people, world, who):
    actor = make_user(Role.DISPATCHER, unit=world.street_a) if who == "street_dispatcher" else getattr(people, who)
    with pytest.raises(NotAllowed):
        issue(people, world.community_a, [overdue_case(people, world.grid_a1)], actor=actor)
    assert SupervisionOrder.objects.count() == 0


def test_it_refuses_cases_the_issuer_cannot_see(people, world):
    # A second district's case: the dispatcher of this one does not see it.
    other = unit_create(code="D9", name="外区", level=UnitLevel.DISTRICT, parent=None)
    other_street = unit_create(code="D9S", name="外区街道", level=UnitLevel.STREET, parent=other)
    other_community = unit_create(code="D9C", name="外区社区", level=UnitLevel.COMMUNITY, parent=other_street)
    outsider = make_user(Role.DISPATCHER, unit=other, username="outsider")
    foreign = case_in(people, other_community, actor=outsider)
    mine = overdue_case(people, world.grid_a1)
    with pytest.raises(InvalidInput) as caught:
        issue(people, world.community_a, [mine, foreign])
    assert caught.value.field == "case_ids" and str(foreign.pk) in caught.value.message
    with pytest.raises(InvalidInput) as caught:
        svc.order_issue(
            actor=people.dispatcher,
            kind="reminder",
            unit_id=world.community_a.pk,
            title="催办",
            case_ids=[mine.pk, 987654],
            deadline=timezone.now() + timedelta(days=1),
        )
    assert caught.value.field == "case_ids"
    assert SupervisionOrder.objects.count() == 0
    assert_case_timeline_whole(mine)


def test_it_refuses_cases_that_are_not_the_units(people, world):
    theirs = overdue_case(people, world.grid_b1)
    with pytest.raises(InvalidInput) as caught:
        issue(people, world.community_a, [theirs])
    assert caught.value.field == "case_ids" and theirs.tracking_code in caught.value.message
    # The street above the case's community answers for it.
    assert issue(people, world.street_b, [theirs]).unit == world.street_b


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "verification", "cases": False}, "case_ids"),
        ({"kind": "rumour"}, "kind"),
        ({"title": "  "}, "title"),
        ({"response_required": False}, "response_required"),
        ({"deadline": "past"}, "deadline"),
        ({"unit": "grid_a1"}, "unit_id"),
        ({"unit": "district"}, "unit_id"),
        ({"meeting_at": True}, "meeting_at"),
    ],
)
def test_it_refuses_bad_input_with_the_field(people, world, changes, field):
    case = overdue_case(people, world.grid_a1)
    unit = getattr(world, changes.get("unit", "community_a"))
    kwargs = {
        "actor": people.dispatcher,
        "kind": changes.get("kind", "supervision"),
        "unit_id": unit.pk,
        "title": changes.get("title", "督办"),
        "case_ids": [] if changes.get("cases") is False else [case.pk],
        "deadline": timezone.now() + (timedelta(hours=-1) if changes.get("deadline") else timedelta(days=2)),
        "response_required": changes.get("response_required", True),
    }
    if changes.get("meeting_at"):
        kwargs["meeting_at"] = timezone.now() + timedelta(days=1)
    with pytest.raises(InvalidInput) as caught:
        svc.order_issue(**kwargs)
    assert caught.value.field == field


def test_it_lets_a_notice_ask_for_no_response_and_an_interview_cover_no_case(people, world):
    notice = issue(people, world.street_a, kind="notice", response_required=False, deadline=None)
    assert notice.deadline is None and not notice.response_required
    interview = issue(
        people,
        world.street_b,
        kind="interview",
        meeting_at=timezone.now() + timedelta(days=2),
        meeting_place="区综治中心3楼会议室",
    )
    assert interview.meeting_place == "区综治中心3楼会议室" and interview.cases.count() == 0


# --- moves ----------------------------------------------------------------------------


def test_it_runs_issue_acknowledge_respond_close(people, world, django_capture_on_commit_callbacks):
    order = issue(people, world.community_a, [overdue_case(people, world.grid_a1)])
    order = svc.order_acknowledge(order=order, actor=people.community, version=1, note="已签收，马上落实")
    assert order.state == OrderState.ACKNOWLEDGED and order.acknowledged_at is not None
    with django_capture_on_commit_callbacks(execute=True):
        order = svc.order_respond(order=order, actor=people.community, version=2, response="已上门调解，双方达成协议。")
    assert order.state == OrderState.RESPONDED and order.response.startswith("已上门调解")
    assert order.responded_by == people.community and order.responded_at is not None
    assert notified("supervision_responded") == {people.dispatcher.pk}
    order = svc.order_close(order=order, actor=people.dispatcher, version=3, note="同意办结")
    assert order.state == OrderState.CLOSED and order.closing_note == "同意办结" and order.closed_at
    assert_order_timeline_whole(order)
    steps = list(order.events.values_list("kind", "from_state", "to_state"))
    assert steps == [
        ("issue", "", "issued"),
        ("acknowledge", "issued", "acknowledged"),
        ("respond", "acknowledged", "responded"),
        ("close", "responded", "closed"),
    ]


def test_it_signs_for_an_order_answered_without_acknowledging(people, world):
    order = issue(people, world.community_a, [overdue_case(people, world.grid_a1)])
    order = svc.order_respond(order=order, actor=people.community, version=1, response="已办结")
    assert order.acknowledged_at == order.responded_at


def test_it_returns_a_response_for_rework(people, world):
    order = issue(people, world.community_a, [overdue_case(people, world.grid_a1)])
    order = svc.order_respond(order=order, actor=people.community, version=1, response="已处理")
    with pytest.raises(InvalidInput) as caught:
        svc.order_return(order=order, actor=people.dispatcher, version=2, note=" ")
    assert caught.value.field == "note"
    order = svc.order_return(order=order, actor=people.dispatcher, version=2, note="反馈过于简单，请补充现场照片")
    assert order.state == OrderState.ISSUED and order.return_count == 1 and order.acknowledged_at is None
    assert order.return_note == "反馈过于简单，请补充现场照片" and order.returned_at is not None
    order = svc.order_acknowledge(order=order, actor=people.community, version=3)
    order = svc.order_respond(order=order, actor=people.community, version=4, response="已补充照片")
    order = svc.order_close(order=order, actor=people.dispatcher, version=5)
    assert order.state == OrderState.CLOSED
    assert_order_timeline_whole(order)


def test_it_needs_a_new_deadline_to_return_an_order_past_its_deadline(people, world):
    order = issue(people, world.community_a, [overdue_case(people, world.grid_a1)])
    order = svc.order_respond(order=order, actor=people.community, version=1, response="已处理")
    past_deadline(order)
    with pytest.raises(InvalidInput) as caught:
        svc.order_return(order=order, actor=people.dispatcher, version=2, note="请补充")
    assert caught.value.field == "deadline"
    new = timezone.now() + timedelta(days=2)
    order = svc.order_return(order=order, actor=people.dispatcher, version=2, note="请补充", deadline=new)
    assert order.deadline == new and order.state == OrderState.ISSUED
    assert svc.orders_escalate_overdue(now=timezone.now()) == 0


@pytest.mark.parametrize(
    ("who", "action"),
    [
        ("street", "acknowledge"),  # sees the order (unit below) but does not answer for it
        ("leader", "acknowledge"),
        ("dispatcher", "acknowledge"),
        ("dispatcher", "respond"),
        ("community", "close"),
        ("community", "return"),
        ("leader", "close"),
    ],
)
def test_it_refuses_moves_to_those_who_may_not_make_them(people, world, who, action):
    order = issue(people, world.community_a, [overdue_case(people, world.grid_a1)])
    if action in ("close", "return"):
        order = svc.order_respond(order=order, actor=people.community, version=1, response="已处理")
    moves = {
        "acknowledge": lambda o, u: svc.order_acknowledge(order=o, actor=u, version=o.version),
        "respond": lambda o, u: svc.order_respond(order=o, actor=u, version=o.version, response="x"),
        "close": lambda o, u: svc.order_close(order=o, actor=u, version=o.version),
        "return": lambda o, u: svc.order_return(order=o, actor=u, version=o.version, note="请补充"),
    }
    with pytest.raises(NotAllowed):
        moves[action](order, getattr(people, who))
    assert_order_timeline_whole(order)


def test_it_lets_the_unit_head_answer_whatever_their_role(people, world):
    head = make_head(world.community_a, Role.LEADER, username="head_a")
    order = issue(people, world.community_a, [overdue_case(people, world.grid_a1)], kind="interview")
    order = svc.order_respond(order=order, actor=head, version=1, response="已按时参加约谈并提交整改方案")
    assert order.responded_by == head


def test_it_refuses_a_stale_version_and_a_wrong_state(people, world):
    order = issue(people, world.community_a, [overdue_case(people, world.grid_a1)])
    with pytest.raises(ConcurrentChange) as caught:
        svc.order_acknowledge(order=order, actor=people.community, version=7)
    assert caught.value.code == "stale_version" and caught.value.status == 409
    order = svc.order_acknowledge(order=order, actor=people.community, version=1)
    with pytest.raises(Conflict) as caught:
        svc.order_acknowledge(order=order, actor=people.community, version=2)
    assert caught.value.code == "wrong_state"
    with pytest.raises(Conflict) as caught:
        svc.order_close(order=order, actor=people.dispatcher, version=2)
    assert caught.value.code == "wrong_state"
    # A second writer holding the same object loses the compare-and-set.
    stale = SupervisionOrder.objects.get(pk=order.pk)
    svc.order_respond(order=order, actor=people.community, version=2, response="已处理")
    with pytest.raises(ConcurrentChange):
        svc.order_respond(order=stale, actor=people.community, version=2, response="重复提交")
    assert_order_timeline_whole(order)


def test_it_lets_the_centre_close_a_notice_that_needs_no_response(people, world):
    notice = issue(people, world.street_a, kind="notice", response_required=False, deadline=None)
    closed = svc.order_close(order=notice, actor=people.dispatcher, version=1, note="已阅")
    assert closed.state == OrderState.CLOSED
    supervision = issue(people, world.street_a, kind="interview")
    with pytest.raises(Conflict):
        svc.order_close(order=supervision, actor=people.dispatcher, version=1)


# --- escalation -----------------------------------------------------------------------


def test_it_escalates_an_unanswered_order_once_and_tells_the_head(people, world, django_capture_on_commit_callbacks):
    head = make_head(world.community_a, username="head_a")
    _ = people.community, people.street
    cases = [overdue_case(people, world.grid_a1), overdue_case(people, world.grid_a2)]
    order = issue(people, world.community_a, cases)
    svc.order_acknowledge(order=order, actor=people.community, version=1)
    past_deadline(order)
    with django_capture_on_commit_callbacks(execute=True):
        assert svc.orders_escalate_overdue(now=timezone.now()) == 1
        assert svc.orders_escalate_overdue(now=timezone.now()) == 0
    order.refresh_from_db()
    assert order.state == OrderState.ESCALATED and order.escalated_at is not None
    last = order.events.get(seq=order.version)
    assert (last.kind, last.from_state, last.to_state, last.actor) == ("escalate", "acknowledged", "escalated", None)
    assert_order_timeline_whole(order)
    assert notified("supervision_escalated") == {head.pk}
    assert Notification.objects.get(kind="supervision_escalated").order_id == order.pk
    for case in cases:
        assert_case_timeline_whole(case)
        assert CaseEvent.objects.filter(case=case, kind="supervision_escalated").count() == 1
    # The unit can still answer, and the centre close.
    order = svc.order_respond(order=order, actor=people.community, version=order.version, response="已办结")
    assert svc.order_close(order=order, actor=people.dispatcher, version=order.version).state == OrderState.CLOSED


def test_it_tells_the_parent_unit_when_the_unit_has_no_head(people, world, django_capture_on_commit_callbacks):
    street, community = people.street, people.community
    order = issue(people, world.community_a, [overdue_case(people, world.grid_a1)])
    past_deadline(order)
    with django_capture_on_commit_callbacks(execute=True):
        assert svc.orders_escalate_overdue(now=timezone.now()) == 1
    assert notified("supervision_escalated") == {street.pk}
    assert community.pk not in notified("supervision_escalated")
    assert people.community.pk not in notified("supervision_escalated")


def test_it_escalates_only_what_owes_a_response_past_its_deadline(people, world):
    case = overdue_case(people, world.grid_a1)
    answered = issue(people, world.community_a, [case])
    svc.order_respond(order=answered, actor=people.community, version=1, response="已处理")
    notice = issue(people, world.community_a, kind="notice", response_required=False, deadline=None)
    in_time = issue(people, world.community_a, [case])
    late = issue(people, world.community_a, [case])
    for order in (answered, late):
        past_deadline(order)
    assert svc.orders_escalate_overdue(now=timezone.now()) == 1
    states = dict(SupervisionOrder.objects.values_list("pk", "state"))
    assert states == {
        answered.pk: OrderState.RESPONDED,
        notice.pk: OrderState.ISSUED,
        in_time.pk: OrderState.ISSUED,
        late.pk: OrderState.ESCALATED,
    }


def test_a_sweep_with_a_stale_snapshot_does_not_escalate(people, world):
    order = issue(people, world.community_a, [overdue_case(people, world.grid_a1)])
    past_deadline(order)
    # The sweep read (version 1, issued); the unit answered before the sweep's claim.
    svc.order_respond(order=order, actor=people.community, version=1, response="已处理")
    assert svc._escalate_one(order.pk, version=1, state="issued", now=timezone.now()) is False
    order.refresh_from_db()
    assert order.state == OrderState.RESPONDED and order.escalated_at is None
    assert not SupervisionEvent.objects.filter(kind="escalate").exists()


# Transactional, so each thread's connection sees the orders.
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_escalate_each_order_once(people, world):
    orders = [issue(people, world.community_a, [overdue_case(people, world.grid_a1)]) for _ in range(3)]
    for order in orders:
        past_deadline(order)
    now = timezone.now()
    counts: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def sweep():
        try:
            start.wait()
            counts.append(svc.orders_escalate_overdue(now=now))
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(counts) == 3
    assert SupervisionEvent.objects.filter(kind="escalate").count() == 3
    for order in orders:
        assert_order_timeline_whole(order)
    assert CaseEvent.objects.filter(kind="supervision_escalated").count() == 3


def test_the_periodic_task_runs_the_escalation(people, world):
    from puan.supervision.tasks import supervision_escalate_task

    order = issue(people, world.community_a, [overdue_case(people, world.grid_a1)])
    past_deadline(order)
    supervision_escalate_task.call_local()
    order.refresh_from_db()
    assert order.state == OrderState.ESCALATED
    assert Unit.objects.get(pk=world.community_a.pk).head is None
