"""A random walk through the case lifecycle.

A hypothesis state machine keeps a handful of cases and lets every kind of user try every
move in `MOVES` on them, with plausible and implausible arguments (empty notes, stale
versions, departments that do not exist, satisfaction out of range); reports come in,
sometimes twice at one spot, and the deadline sweep runs when a case's time is up.
Whatever happens, a move either succeeds or raises a `DomainError` (and then changed
nothing, in any table), and after every step each case is whole:
one owner at the right tier, a gapless timeline that chains from state to state through
allowed moves only, closed cases untouched except by `reopen`, and `allowed_actions`
telling the truth about what the services will do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise
from types import SimpleNamespace

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from puan.accounts.roles import Role
from puan.accounts.tests.factories import make_user
from puan.cases import services as svc
from puan.cases.attachments import attachment_upload
from puan.cases.models import OPEN_STATES, AssistStatus, AssistTask, Case, CaseEvent, CaseState
from puan.cases.tests.helpers import IN_GRID_A1, IN_GRID_A2, IN_GRID_B1, People, intake
from puan.cases.transitions import MOVES, Who, actor_relations, allowed_actions
from puan.core.errors import DomainError, InvalidInput, NotAllowed
from puan.org.models import PATH_SEGMENT_WIDTH, Unit, UnitLevel
from puan.sla import services as sla
from puan.sla.sweep import sweep

pytestmark = pytest.mark.django_db

MAX_CASES = 4
ACTORS = (
    "grid_worker",
    "grid_b1",
    "community",
    "other_community",
    "street",
    "other_street",
    "dispatcher",
    "justice",
    "police",
    "mediator",
    "leader",
    "volunteer",
)
# Who reports, and through which channel each of them may.
REPORTERS = (("grid_worker", "patrol"), ("grid_b1", "patrol"), ("volunteer", "app"), ("community", "window"))
# Spots more than 100 m apart, so a second report at the same spot and category is linked
# to the first case and a report elsewhere is a new case; or, without coordinates, a
# community (a hotline caller who names only the neighbourhood).
SPOTS = (IN_GRID_A1, (IN_GRID_A1[0] - 0.003, IN_GRID_A1[1] - 0.003), IN_GRID_A2, IN_GRID_B1)
PLACES = (*SPOTS, "community_a", "community_b")
# Led by justice or police (people the machine has), first tier community, street, district;
# G02-01 is not open to citizens.
CATEGORIES = ("G15-01", "G04-04", "G04-03", "G16-02", "G02-01")
TIER_LEVEL = {1: UnitLevel.COMMUNITY, 2: UnitLevel.STREET, 3: UnitLevel.DISTRICT}
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64
# Events written by intake and by the deadline sweep rather than by a move.
SYSTEM_KINDS = {"register", "duplicate_report", "route_red", "route_orange", "overdue"}
# A case's deadline clock: moved back together to let time pass.
CLOCK = ("sla_started_at", "respond_due_at", "resolve_due_at", "sla_mark_50_at", "sla_mark_80_at", "next_sla_at")

FACTS = st.one_of(
    st.just({}),
    st.fixed_dictionaries(
        {},
        optional={
            "people_involved": st.sampled_from([1, 6, 40]),
            "injury": st.booleans(),
            "danger_to_life": st.booleans(),
            "public_place": st.booleans(),
            "property_loss": st.sampled_from([0, 200_000, 2_000_000]),
            "escalations": st.sampled_from([0, 1]),
        },
    ),
)


def move_args(*, careful: bool):
    """Arguments for any move. Careful callers mostly send good input; careless ones send
    empty notes, stale versions and departments that do not exist."""
    if careful:
        notes = ["请按程序办理", "双方分歧较大，需要上级协调", "复核情况属实", ""]
        skews = [0] * 9 + [-1]
        satisfaction = [5, 4, 3, 2, 1]
    else:
        notes = ["", "请按程序办理", "  ", "说明"]
        skews = [0, 0, 0, -1, 1]
        satisfaction = [1, 2, 3, 4, 5, 0, 6]
    return st.fixed_dictionaries(
        {
            "note": st.sampled_from(notes),
            "skew": st.sampled_from(skews),
            "category": st.sampled_from([None, None, "G15-01", "G04-03", "G02-01", "G99-99"]),
            "lane": st.sampled_from([None, None, "urgent", "complex", "bogus"]),
            "facts": FACTS,
            "lead": st.sampled_from([None, None, "justice", "police", "street", "missing"]),
            "assists": st.sampled_from(
                [
                    None,
                    None,
                    (),
                    (("police", "派民警到场了解情况"),),
                    (("labour", "核查用工情况"),),
                    (("justice", " "),),
                ]
            ),
            "outcome": st.sampled_from(["人民调解达成协议", "已协调处理", ""]),
            "satisfaction": st.sampled_from(satisfaction),
            "department": st.sampled_from(["police", "labour", "justice", "street", "missing"]),
            "task": st.sampled_from(["协助调查", "", "派员到场"]),
            "task_pick": st.integers(0, 3),
            "status": st.sampled_from(["done", "waived", "done", "open"]),
            "risk": st.sampled_from(["red", "orange", "yellow", "purple"]),
            "days": st.sampled_from([None, None, 5, 400]),
            "approve": st.sampled_from([True, True, False]),
        }
    )


CAREFUL_ARGS = move_args(careful=True)
CARELESS_ARGS = move_args(careful=False)


@dataclass(frozen=True)
class Seen:
    """Everything about one case: its row and the rows of every table that hangs off it
    (timeline, assisting tasks, alerts, attachments, clock requests, notifications …),
    each row as text."""

    version: int
    state: str
    tier: int
    rows: tuple


def _as_text(model) -> str:
    quote = connection.ops.quote_name
    columns = [f"COALESCE(CAST({quote(f.column)} AS TEXT), '-')" for f in model._meta.concrete_fields]
    return " || '|' || ".join(columns)


def _snapshot_sql() -> str:
    quote = connection.ops.quote_name
    parts = [
        f"SELECT 'Case' AS t, id AS case_id, version, state, tier, {_as_text(Case)} AS body"
        f" FROM {quote(Case._meta.db_table)}"
    ]
    for rel in Case._meta.related_objects:
        if rel.many_to_many or rel.related_model is Case:
            continue
        model = rel.related_model
        parts.append(
            f"SELECT '{model.__name__}', {quote(rel.field.column)}, NULL, NULL, NULL, {_as_text(model)}"
            f" FROM {quote(model._meta.db_table)} WHERE {quote(rel.field.column)} IS NOT NULL"
        )
    return " UNION ALL ".join(parts) + " ORDER BY 2, 1, 6"


def snapshot() -> dict[int, Seen]:
    """Every case and everything hanging off it, in one query: this runs twice a move."""
    with connection.cursor() as cursor:
        cursor.execute(_snapshot_sql())
        found = cursor.fetchall()
    heads = {case_id: (version, state, tier) for t, case_id, version, state, tier, _ in found if t == "Case"}
    rows: dict[int, list] = {}
    for t, case_id, *_, row in found:
        rows.setdefault(case_id, []).append((t, row))
    return {case_id: Seen(*head, rows=tuple(rows[case_id])) for case_id, head in heads.items()}


class Cast:
    """The people, units and departments the machine plays with, made once per test (the
    examples roll back to a savepoint, so these survive every example)."""

    def __init__(self, world):
        people = People(world)
        self.world = world
        self.users = {name: getattr(people, name) for name in ACTORS if hasattr(People, name)}
        self.users["grid_b1"] = make_user(Role.GRID_WORKER, unit=world.grid_b1, username="grid_b1")
        self.users["mediator"] = make_user(Role.MEDIATOR, unit=world.justice, username="mediator")
        for user in self.users.values():
            user.role_codes, user.unit  # noqa: B018 (warm the caches once)
        self.units = {u.pk: u for u in Unit.objects.defer("boundary")}
        labour = Unit.objects.get(code="dept.labour")
        self.departments = {
            None: None,
            "justice": world.justice.pk,
            "police": world.police.pk,
            "labour": labour.pk,
            "street": world.street_a.pk,  # not a department
            "missing": 10**9,
        }

    def unit(self, name: str) -> int:
        return getattr(self.world, name).pk

    def owner_expected(self, area_path: str, tier: int) -> Unit:
        w = PATH_SEGMENT_WIDTH
        by_path = {u.path: u for u in self.units.values()}
        ancestors = [by_path[area_path[:i]] for i in range(w, len(area_path) + 1, w)]
        found = [u for u in ancestors if u.level == TIER_LEVEL[tier]]
        assert len(found) == 1, (area_path, tier)
        return found[0]


def chosen_task(case: Case, pick: int) -> AssistTask | None:
    tasks = list(AssistTask.objects.filter(case=case).order_by("pk"))
    return tasks[pick % len(tasks)] if tasks and pick < 3 else None


def make_move(cast: Cast, action: str, case: Case, actor, version: int, a: dict) -> Case:
    dept = cast.departments
    common = {"case": case, "actor": actor, "version": version}
    if action in ("accept", "reject", "start", "escalate", "return", "verify", "reopen", "close", "comment"):
        fn = {"return": svc.case_return}.get(action) or getattr(svc, f"case_{action}")
        return fn(**common, note=a["note"])
    if action == "triage":
        return svc.case_triage(**common, category_code=a["category"], lane=a["lane"], facts=a["facts"], note=a["note"])
    if action == "assign":
        assists = None if a["assists"] is None else [(dept[d], task) for d, task in a["assists"]]
        return svc.case_assign(**common, lead_department_id=dept[a["lead"]], assists=assists, note=a["note"])
    if action == "resolve":
        return svc.case_resolve(**common, outcome=a["outcome"])
    if action == "rate":
        return svc.case_rate(**common, satisfaction=a["satisfaction"], note=a["note"])
    if action == "add_assist":
        return svc.case_add_assist(**common, department_id=dept[a["department"]], task=a["task"])
    if action == "close_assist":
        task = chosen_task(case, a["task_pick"])
        return svc.case_close_assist(**common, task_id=task.pk if task else 10**9, status=a["status"], note=a["note"])
    if action == "override_risk":
        return svc.case_override_risk(**common, risk=a["risk"], note=a["note"])
    if action == "update_facts":
        return svc.case_update_facts(**common, facts=a["facts"], note=a["note"])
    if action == "request_suspension":
        return sla.case_request_suspension(**common, note=a["note"])
    if action == "request_extension":
        return sla.case_request_extension(**common, note=a["note"], days=a["days"])
    if action == "decide_request":
        return sla.case_decide_request(**common, approve=a["approve"], note=a["note"])
    if action == "resume":
        return sla.case_resume(**common, note=a["note"])
    # A move added since this machine was written: made the way the API makes it.
    from puan.cases.api import ACTIONS
    from puan.cases.schemas import Action

    return ACTIONS[Action(action)](case, actor, Payload(version=version, note=a["note"]))


class Payload(SimpleNamespace):
    """An `ActionIn` as a new move reads it: anything not given is None."""

    def __getattr__(self, name):
        return None


def refusal_is_about_the_task(case: Case, actor, action: str, a: dict) -> bool:
    """`close_assist` is offered per case, but whether this actor may finish (their own
    task) or waive (the owner) depends on the task chosen: a 403 then is about the input.
    Likewise `decide_request` is offered to supervisors, but nobody decides a request they
    made themselves (neither the case page nor the API's `allowed_actions` offers it to
    them; the machine draws from the transition table, which does)."""
    if action == "decide_request":
        from puan.sla.models import RequestState, SlaRequest

        pending = SlaRequest.objects.filter(case=case, state=RequestState.PENDING).first()
        return pending is not None and pending.requested_by_id == actor.pk
    if action != "close_assist":
        return False
    task = chosen_task(case, a["task_pick"])
    if task is None or task.status != AssistStatus.OPEN or a["status"] not in (AssistStatus.DONE, AssistStatus.WAIVED):
        return False
    relations = actor_relations(case, actor, assist_departments={task.department_id})
    if a["status"] == AssistStatus.DONE:
        return not (Who.ASSIST in relations and actor.unit_id == task.department_id)
    return Who.OWNER not in relations


class CaseLifecycle(RuleBasedStateMachine):
    def __init__(self, cast: Cast):
        super().__init__()
        self.cast = cast
        self.case_ids: list[int] = []
        # Each example runs inside its own savepoint and rolls back: a clean set of cases.
        self.savepoint = transaction.savepoint()

    def teardown(self):
        transaction.savepoint_rollback(self.savepoint)

    # --- reading ---------------------------------------------------------------------

    def load(self, pick: int) -> Case:
        return Case.objects.select_related("category", "owner_unit").get(pk=self.case_ids[pick % len(self.case_ids)])

    def new_kinds(self, case_id: int, since_version: int) -> list[str]:
        return list(
            CaseEvent.objects.filter(case_id=case_id, seq__gt=since_version)
            .order_by("seq")
            .values_list("kind", flat=True)
        )

    # --- rules -----------------------------------------------------------------------

    @initialize()
    def start_clean(self):
        assert not Case.objects.exists(), "an example must start without cases"
        assert not CaseEvent.objects.exists()

    @precondition(lambda self: len(self.case_ids) < MAX_CASES)
    @rule(
        reporter=st.sampled_from(REPORTERS),
        place=st.sampled_from(PLACES),
        category=st.sampled_from(CATEGORIES),
        facts=FACTS,
        on_spot=st.sampled_from([False] * 5 + [True]),
    )
    def report(self, reporter, place, category, facts, on_spot):
        name, channel = reporter
        actor = self.cast.users[name]
        extra = {"lon_lat": place} if isinstance(place, tuple) else {"lon_lat": None, "unit_id": self.cast.unit(place)}
        if on_spot:
            photo = attachment_upload(actor=actor, name="现场.png", content=PNG)
            extra |= {"handled_on_spot": True, "outcome": "已现场劝导处理", "evidence_ids": [photo.pk]}
        before = snapshot()
        try:
            result = intake(actor, category=category, channel=channel, facts=facts, **extra)
        except DomainError:
            assert snapshot() == before, "a refused report changed a case"
            return
        after = snapshot()
        case = result.case
        if result.linked:
            assert case.pk in before and len(after) == len(before)
            kinds = self.new_kinds(case.pk, before[case.pk].version)
            assert kinds in (
                ["duplicate_report"],
                ["duplicate_report", "route_red"],
                ["duplicate_report", "route_orange"],
            ), kinds
            assert after[case.pk].version == before[case.pk].version + len(kinds)
            unchanged = {k: v for k, v in after.items() if k != case.pk}
            assert unchanged == {k: v for k, v in before.items() if k != case.pk}
        else:
            assert case.pk not in before and len(after) == len(before) + 1
            assert after[case.pk].version == (2 if on_spot else 1)
            assert {k: v for k, v in after.items() if k != case.pk} == before
            self.case_ids.append(case.pk)

    @precondition(lambda self: self.case_ids)
    @rule(
        pick=st.integers(0, MAX_CASES - 1),
        actor=st.sampled_from(ACTORS),
        action=st.sampled_from(sorted(MOVES)),
        args=CARELESS_ARGS,
    )
    def anybody_tries_anything(self, pick, actor, action, args):
        self.attempt(self.load(pick), actor, action, args)

    @precondition(lambda self: self.case_ids)
    @rule(pick=st.integers(0, MAX_CASES - 1), data=st.data())
    def somebody_makes_offered_moves(self, pick, data):
        """Drives a case deep into its lifecycle: a few moves in a row that `allowed_actions`
        offers somebody, mostly ones that take the case towards closure."""
        for _ in range(data.draw(st.integers(1, 5), label="moves")):
            case = self.load(pick)
            open_assists = self.open_assists(case)
            offered = [
                (name, action)
                for name in ACTORS
                for action in allowed_actions(case, self.cast.users[name], assist_departments=open_assists)
            ]
            onward = [(name, action) for name, action in offered if MOVES[action].target and action != "reject"]
            ahead = [(name, action) for name, action in onward if action not in ("escalate", "return")]
            pool = [offered, onward, ahead, ahead][data.draw(st.integers(0, 3), label="any, onward, ahead")]
            pool = pool or onward or offered
            if not pool:
                return
            name, action = data.draw(st.sampled_from(pool), label="actor and move")
            self.attempt(case, name, action, data.draw(CAREFUL_ARGS, label="arguments"))
            self.every_case_is_whole()

    @precondition(lambda self: self.case_ids)
    @rule(pick=st.integers(0, MAX_CASES - 1))
    def the_deadline_sweep_escalates(self, pick):
        """`case_escalate` with no actor: the system's own escalation."""
        case = self.load(pick)
        before = snapshot()
        old = before[case.pk]
        try:
            svc.case_escalate(case=case, actor=None, version=case.version, note="超过办理时限，系统自动上报")
        except DomainError:
            assert snapshot() == before, "a refused escalation changed a case"
            return
        assert old.state in MOVES["escalate"].sources and old.tier < 3, f"escalated a {old.state} case"
        after = snapshot()
        assert after[case.pk].state == CaseState.ESCALATED and after[case.pk].tier > old.tier
        assert self.new_kinds(case.pk, old.version) == ["escalate"]

    @precondition(lambda self: self.case_ids)
    @rule(pick=st.integers(0, MAX_CASES - 1))
    def the_deadline_passes_and_the_sweep_runs(self, pick):
        """The real sweep on a case whose resolve deadline has just passed: marked overdue
        and, below the district, escalated by the system."""
        case = self.load(pick)
        if case.resolve_due_at is None:
            return
        # Time passes: the case's whole clock moves back until its deadline is a second ago.
        ago = case.resolve_due_at - timezone.now() + timedelta(seconds=1)
        Case.objects.filter(pk=case.pk).update(**{name: F(name) - ago for name in CLOCK})
        case = self.load(pick)
        before = snapshot()
        old = before[case.pk]
        sweep(now=timezone.now())
        after = snapshot()
        kinds = self.new_kinds(case.pk, old.version)
        event(f"sweep: {kinds} on {case.state}")
        assert kinds in ([], ["overdue"], ["escalate"], ["overdue", "escalate"]), kinds
        due = case.state in OPEN_STATES and case.suspended_at is None and case.next_sla_at is not None
        assert bool(kinds) == (due and case.sla_stage < 3), f"sweep on a {case.state} case wrote {kinds}"
        if "escalate" in kinds:
            assert old.state in MOVES["escalate"].sources and old.tier < 3, f"escalated a {old.state} case"
            assert after[case.pk].state == CaseState.ESCALATED and after[case.pk].tier > old.tier
        others = {k: v for k, v in after.items() if k != case.pk}
        assert others == {k: v for k, v in before.items() if k != case.pk}, "the sweep changed a case not due"

    # --- one attempt and what it may change --------------------------------------------

    def open_assists(self, case: Case) -> set[int]:
        return set(
            AssistTask.objects.filter(case=case, status=AssistStatus.OPEN).values_list("department_id", flat=True)
        )

    def attempt(self, case: Case, name: str, action: str, args: dict) -> None:
        actor = self.cast.users[name]
        offered = action in allowed_actions(case, actor, assist_departments=self.open_assists(case))
        version = case.version + args["skew"]
        was = f"{name} → {action} on a {case.state} case at tier {case.tier} (v{case.version}, sent v{version})"
        refusal = refusal_is_about_the_task(case, actor, action, args)
        before = snapshot()
        try:
            make_move(self.cast, action, case, actor, version, args)
        except DomainError as exc:
            event(f"{action}: {type(exc).__name__}")
            after = snapshot()
            assert after == before, f"{was}: refused with {exc!r} but changed a case"
            if offered and isinstance(exc, NotAllowed):
                assert refusal, f"{was}: allowed_actions offers it, but the service says {exc!r}"
            return
        event(f"{action}: made from {before[case.pk].state}")
        after = snapshot()
        old, new = before[case.pk], after[case.pk]
        assert offered, f"{was}: succeeded although allowed_actions does not offer it"
        assert args["skew"] == 0, f"{was}: a stale version was accepted"
        assert old.state != CaseState.CLOSED or action == "reopen", f"{was}: a closed case was changed"
        kinds = self.new_kinds(case.pk, old.version)
        unsatisfied = action == "rate" and args["satisfaction"] <= svc.UNSATISFIED_AT_MOST
        assert kinds == (["rate", "reopen"] if unsatisfied else [action]), f"{was}: wrote {kinds}"
        assert new.version == old.version + len(kinds), f"{was}: version {old.version} → {new.version}"
        target = CaseState.REOPENED if unsatisfied else MOVES[action].target
        assert new.state == (target or old.state), f"{was}: ended {new.state}"
        others = {k: v for k, v in after.items() if k != case.pk}
        assert others == {k: v for k, v in before.items() if k != case.pk}, f"{was}: changed another case"

    # --- invariants ------------------------------------------------------------------

    @invariant()
    def every_case_is_whole(self):
        cases = list(
            Case.objects.values_list("pk", "version", "state", "tier", "area_path", "owner_unit_id", "owner_path")
        )
        assert sorted(c[0] for c in cases) == sorted(self.case_ids)
        timelines: dict[int, list] = {pk: [] for pk, *_ in cases}
        for row in CaseEvent.objects.order_by("case_id", "seq").values_list(
            "case_id", "seq", "kind", "from_state", "to_state", "at", "tier", "data"
        ):
            timelines[row[0]].append(row[1:])
        for pk, version, state, tier, area_path, owner_unit_id, owner_path in cases:
            where = f"case {pk} ({state}, tier {tier}, v{version})"
            owner = self.cast.units[owner_unit_id]
            assert owner_path == owner.path, f"{where}: owner_path is not the owner's path"
            expected = self.cast.owner_expected(area_path, tier)
            assert owner.pk == expected.pk, f"{where}: owned by {owner.name}, expected {expected.name}"
            events = timelines[pk]
            kinds = [e[1] for e in events]
            assert [e[0] for e in events] == list(range(1, version + 1)), f"{where}: seqs {kinds}"
            assert all(a[4] <= b[4] for a, b in pairwise(events)), f"{where}: time runs back"
            assert events[0][1:4] == ("register", "", CaseState.REGISTERED), f"{where}: starts {events[0][1:4]}"
            for a, b in pairwise(events):
                assert a[3] == b[2], f"{where}: #{a[0]} ends {a[3]} but #{b[0]} starts {b[2]} ({kinds})"
            assert events[-1][3] == state, f"{where}: timeline ends {events[-1][3]}"
            assert events[-1][5] == tier, f"{where}: last event at tier {events[-1][5]}"
            for seq, kind, from_state, to_state, _at, _tier, data in events[1:]:
                if from_state == CaseState.CLOSED:
                    assert kind == "reopen", f"{where}: #{seq} {kind} on a closed case"
                if seq == 2 and kind == "resolve" and data.get("on_spot"):
                    assert (from_state, to_state) == (CaseState.REGISTERED, CaseState.RESOLVED)
                    continue  # handled on the spot: registered and resolved in one step
                move = MOVES.get(kind)
                if from_state == to_state:
                    assert kind in SYSTEM_KINDS or (move and move.target is None), f"{where}: #{seq} {kind}"
                    assert move is None or from_state in move.sources, f"{where}: #{seq} {kind} from {from_state}"
                    continue
                assert move is not None, f"{where}: #{seq} {kind} changed the state but is no move"
                assert from_state in move.sources and to_state == move.target, (
                    f"{where}: #{seq} {kind} went {from_state} → {to_state}"
                )


# 15 walks of up to 25 steps: about 10 s on SQLite and 20 s on PostgreSQL on a busy two-core
# machine. PUAN_STATE_MACHINE_EXAMPLES=400 walks much further (about ten minutes).
MACHINE_SETTINGS = settings(
    max_examples=int(os.environ.get("PUAN_STATE_MACHINE_EXAMPLES", "15")),
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def test_it_keeps_every_case_whole_whatever_anybody_tries(world):
    cast = Cast(world)
    run_state_machine_as_test(lambda: CaseLifecycle(cast), settings=MACHINE_SETTINGS)


@pytest.mark.parametrize("place", ["street_a", "district"])
def test_it_gives_a_case_reported_above_a_community_an_owner_of_its_tier(world, place):
    people = People(world)
    try:
        case = intake(people.dispatcher, channel="hotline", lon_lat=None, unit_id=getattr(world, place).pk).case
    except InvalidInput as err:  # refusing the place is as good a fix as routing it well
        assert err.field == "unit_id"
        return
    assert case.owner_unit.level == TIER_LEVEL[case.tier], f"tier {case.tier} owned by a {case.owner_unit.level}"
