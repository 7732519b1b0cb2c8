"""Two writers at once, for real: threads on their own database connections (SQLite in
WAL mode with IMMEDIATE transactions, or PostgreSQL), and the real app behind a live
server. The compare-and-set on `version` must let exactly one of two concurrent moves
through and answer the other with a 409; an `Idempotency-Key` must create one case, not
two, however close together the two requests arrive."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest
from django.db import connection

from puan.accounts.services import token_issue
from puan.cases import services as svc
from puan.cases.models import Case, CaseEvent, CaseState
from puan.cases.tests.helpers import People, intake
from puan.core.errors import ConcurrentChange
from puan.core.models import IdempotencyKey

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 5


def spot(i: int) -> tuple[float, float]:
    # Points of grid A1 (113.40–113.41 × 23.10–23.11) at least 150 m apart: each round's
    # report is a new case of community A, not a duplicate of the last round's.
    assert 0 <= i < 36
    return (113.4012 + 0.0015 * (i % 6), 23.1012 + 0.0015 * (i // 6))


def in_progress_case(people: People, i: int) -> Case:
    case = intake(people.grid_worker, lon_lat=spot(i)).case
    for move in (svc.case_accept, svc.case_triage, svc.case_assign, svc.case_start):
        case = move(case=case, actor=people.community, version=case.version)
    assert (case.state, case.tier) == (CaseState.IN_PROGRESS, 1)
    return case


def race(*workers):
    """Run each worker in its own thread, released together by a barrier the worker waits
    on when it is ready; returns what each returned or raised."""
    barrier = threading.Barrier(len(workers), timeout=30)
    outcomes: list = [None] * len(workers)

    def run(i, worker):
        try:
            outcomes[i] = ("returned", worker(barrier))
        except BaseException as exc:  # reported to the test, not lost in the thread
            outcomes[i] = ("raised", exc)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=run, args=(i, w), daemon=True) for i, w in enumerate(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    return outcomes


def assert_escalated_once(case_id: int, seen_version: int) -> None:
    case = Case.objects.get(pk=case_id)
    assert (case.state, case.tier, case.version) == (CaseState.ESCALATED, 2, seen_version + 1)
    kinds = list(CaseEvent.objects.filter(case_id=case_id).order_by("seq").values_list("kind", flat=True))
    assert kinds.count("escalate") == 1
    assert list(CaseEvent.objects.filter(case_id=case_id).order_by("seq").values_list("seq", flat=True)) == list(
        range(1, case.version + 1)
    )


# --- through the services --------------------------------------------------------------


def escalate_via_service(case_id: int, actor, note: str):
    def worker(barrier):
        mine = Case.objects.get(pk=case_id)  # read on this thread's own connection
        seen = mine.version
        barrier.wait()
        svc.case_escalate(case=mine, actor=actor, version=seen, note=note)
        return seen

    return worker


def test_it_lets_exactly_one_of_two_concurrent_escalations_through(world):
    people = People(world)
    for i in range(ROUNDS):
        case_id = in_progress_case(people, i).pk
        # Both own a tier-1 case: the community handler and the centre's dispatcher.
        outcomes = race(
            escalate_via_service(case_id, people.community, "社区调解不成，上报街道"),
            escalate_via_service(case_id, people.dispatcher, "指挥中心要求街道会诊"),
        )

        won = [value for how, value in outcomes if how == "returned"]
        lost = [value for how, value in outcomes if how == "raised"]
        assert len(won) == 1 and len(lost) == 1, f"round {i}: {outcomes}"
        assert isinstance(lost[0], ConcurrentChange), f"round {i}: the loser got {lost[0]!r}"
        assert lost[0].status == 409 and lost[0].code == "stale_version"
        assert_escalated_once(case_id, seen_version=won[0])


# --- through HTTP ------------------------------------------------------------------------

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy


def http(method: str, url: str, token: str, body: dict | None = None, headers: dict | None = None):
    request = urllib.request.Request(
        url,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", **(headers or {})},
    )
    try:
        with _opener.open(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def escalate_via_http(url: str, token: str, note: str):
    def worker(barrier):
        status, body = http("GET", url, token)
        assert status == 200, body
        barrier.wait()
        return body["version"], http(
            "POST", f"{url}/actions/escalate", token, {"version": body["version"], "note": note}
        )

    return worker


def test_it_answers_two_concurrent_http_escalations_with_one_200_and_one_409(world, live_server):
    people = People(world)
    community, dispatcher = token_issue(user=people.community)[0], token_issue(user=people.dispatcher)[0]
    for i in range(ROUNDS):
        case_id = in_progress_case(people, i).pk
        url = f"{live_server.url}/api/v1/cases/{case_id}"
        outcomes = race(
            escalate_via_http(url, community, "社区调解不成，上报街道"),
            escalate_via_http(url, dispatcher, "指挥中心要求街道会诊"),
        )

        assert all(how == "returned" for how, _ in outcomes), f"round {i}: {outcomes}"
        seen = {version for _, (version, _) in outcomes}
        assert len(seen) == 1, f"round {i}: the two clients read different versions {seen}"
        answers = sorted((answer for _, (_, answer) in outcomes), key=lambda a: a[0])
        assert [status for status, _ in answers] == [200, 409], f"round {i}: {answers}"
        ok, conflict = answers[0][1], answers[1][1]
        assert (ok["state"], ok["tier"], ok["version"]) == (CaseState.ESCALATED, 2, seen.pop() + 1)
        # The loser sent a version that is no longer current.
        assert conflict["code"] == "stale_version", conflict
        assert_escalated_once(case_id, seen_version=ok["version"] - 1)


def test_it_answers_the_loser_of_an_escalation_race_with_stale_version(world, live_server):
    people = People(world)
    community, dispatcher = token_issue(user=people.community)[0], token_issue(user=people.dispatcher)[0]
    case_id = in_progress_case(people, 0).pk
    url = f"{live_server.url}/api/v1/cases/{case_id}"
    # Both clients show the case at the same version; the dispatcher's click lands first.
    seen = http("GET", url, community)[1]["version"]
    assert http("GET", url, dispatcher)[1]["version"] == seen
    assert http("POST", f"{url}/actions/escalate", dispatcher, {"version": seen, "note": "街道会诊"})[0] == 200
    status, body = http("POST", f"{url}/actions/escalate", community, {"version": seen, "note": "上报街道"})
    assert status == 409
    assert body["code"] == "stale_version", body


def submit_via_http(url: str, token: str, report: dict, key: str):
    def worker(barrier):
        barrier.wait()
        return http("POST", url, token, report, {"Idempotency-Key": key})

    return worker


def test_it_creates_one_case_for_two_concurrent_intakes_with_one_idempotency_key(world, live_server, monkeypatch):
    people = People(world)
    token = token_issue(user=people.grid_worker)[0]
    intakes = []  # the live server runs in this process: count the intakes it really starts
    real_commit = svc.intake_commit
    monkeypatch.setattr(svc, "intake_commit", lambda plan: intakes.append(1) or real_commit(plan))
    for i in range(ROUNDS):
        report = {
            "kind": "dispute",
            "channel": "patrol",
            "category": "G15-01",
            "title": f"邻里噪音纠纷 {i}",
            "description": "楼上住户夜间噪音，双方多次争吵。",
            "lon": spot(i)[0],
            "lat": spot(i)[1],
            "facts": {"people_involved": 2},
        }
        key = f"phone-retry-{i}"
        submit = submit_via_http(f"{live_server.url}/api/v1/cases", token, report, key)
        outcomes = race(submit, submit)

        assert all(how == "returned" for how, _ in outcomes), f"round {i}: {outcomes}"
        (status_a, body_a), (status_b, body_b) = (value for _, value in outcomes)
        assert (status_a, status_b) == (201, 201), f"round {i}: {outcomes}"
        assert body_a == body_b
        assert Case.objects.filter(title=report["title"]).count() == 1
        case = Case.objects.get(title=report["title"])
        assert body_a["case"]["id"] == case.pk and body_a["linked"] is False
        assert case.report_count == 1 and case.version == 1  # not linked to itself as a duplicate
        assert IdempotencyKey.objects.filter(key=key).count() == 1
    # Both requests of a round usually get past the early look-up of the key and both take the
    # report in: then the key's unique constraint, not the look-up, keeps the second case out.
    assert len(intakes) > ROUNDS, "the two requests never overlapped: nothing was raced"


def test_it_joins_two_reports_of_one_thing_made_at_once_into_one_case(world, monkeypatch):
    """Two people report the same thing at the same moment (two callers, two sensors): the
    second must join the first's case even when both look for an open case before either
    has written one. The duplicate check is held open for a moment to make sure the two
    transactions overlap."""
    people = People(world)
    real_find = svc._find_duplicate
    looked = []

    def slow_find(*args, **kwargs):
        found = real_find(*args, **kwargs)
        looked.append(found)
        time.sleep(0.3)  # the other report's intake is under way meanwhile
        return found

    monkeypatch.setattr(svc, "_find_duplicate", slow_find)

    def report(actor, i, title):
        def worker(barrier):
            barrier.wait()
            return intake(actor, lon_lat=spot(i), title=title, category="G15-01").linked

        return worker

    for i in range(2):
        outcomes = race(
            report(people.grid_worker, 20 + i, f"同一处噪音·甲{i}"),
            report(people.community, 20 + i, f"同一处噪音·乙{i}"),
        )
        assert sorted(outcomes) == [("returned", False), ("returned", True)], f"round {i}: {outcomes}"
        at_spot = Case.objects.filter(lon=spot(20 + i)[0], lat=spot(20 + i)[1])
        assert at_spot.count() == 1, f"round {i}: {list(at_spot.values_list('title', flat=True))}"
        assert at_spot.get().report_count == 2
        assert CaseEvent.objects.filter(case=at_spot.get(), kind="duplicate_report").count() == 1
    assert len(looked) == 4


def test_it_reads_a_case_while_another_request_is_writing_it(world, api):
    """A plain read takes no write lock: on SQLite it does not queue behind a writer that
    holds the database's one write lock (on PostgreSQL, a writer's row lock)."""
    from django.db import transaction

    people = People(world)
    case = intake(people.grid_worker).case
    api.login_as(people.grid_worker)
    assert api.get(f"/api/v1/cases/{case.pk}").status_code == 200  # the token's first use is noted now
    holding, read_done, released = threading.Event(), threading.Event(), threading.Event()

    def writer(_barrier):
        with transaction.atomic():
            Case.objects.select_for_update().filter(pk=case.pk).update(title="正在修改")
            holding.set()
            read_done.wait(timeout=15)  # long past the read unless it queued behind this
        released.set()

    def reader(_barrier):
        assert holding.wait(timeout=15)
        status = api.get(f"/api/v1/cases/{case.pk}").status_code
        finished_while_held = not released.is_set()
        read_done.set()
        return status, finished_while_held

    outcomes = race(writer, reader)
    assert outcomes[0] == ("returned", None), outcomes
    assert outcomes[1] == ("returned", (200, True)), outcomes
