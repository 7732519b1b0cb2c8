"""The one table of allowed moves: from which states, to which state, by whom, at which tier.

"Who" is a relation between the actor and the case, not just a role:
- OWNER: a handler of the unit that owns the case now (community at tier 1, street at
  tier 2), or a dispatcher of the district centre (which owns tier 3 and may act anywhere);
- SUPERVISOR: a dispatcher, or a handler of a unit above the owner (street over community);
- DISPATCHER: a dispatcher (the colour of a case is theirs to override, with a reason);
- LEAD: a handler of the lead department;
- ASSIST: a handler of a department with an assisting task on the case;
- REPORTER: the person who reported it for themselves (a citizen or volunteer in the app or
  online, a grid worker on patrol), not the staff who registered a call, visit or letter;
- GRID: a grid worker of the grid where the case is;
- ANY: anyone who can see the case and is not read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from puan.accounts.roles import Role
from puan.cases.models import Case, CaseState, Channel
from puan.cases.routing import MIN_TIER_FOR_RISK
from puan.org.models import UnitLevel
from puan.taxonomy.models import Tier

S = CaseState
OPEN = frozenset({S.REGISTERED, S.ACCEPTED, S.TRIAGED, S.ASSIGNED, S.IN_PROGRESS, S.ESCALATED, S.RETURNED, S.REOPENED})
WORKING = frozenset({S.ASSIGNED, S.IN_PROGRESS, S.ESCALATED, S.RETURNED, S.REOPENED, S.ACCEPTED, S.TRIAGED})


class Who(StrEnum):
    OWNER = "owner"
    SUPERVISOR = "supervisor"
    DISPATCHER = "dispatcher"
    LEAD = "lead"
    ASSIST = "assist"
    REPORTER = "reporter"
    GRID = "grid"
    ANY = "any"


@dataclass(frozen=True)
class Move:
    action: str
    label: str
    sources: frozenset[str]
    target: str | None  # None: the state stays (comments, assisting tasks, re-grading)
    who: frozenset[Who]
    min_tier: int = 1
    max_tier: int = 3
    needs_note: bool = False


def _m(action, label, sources, target, who, **kw) -> Move:
    return Move(action, label, frozenset(sources), target, frozenset(who), **kw)


MOVES: dict[str, Move] = {
    m.action: m
    for m in [
        _m("accept", "受理", {S.REGISTERED}, S.ACCEPTED, {Who.OWNER}),
        _m("reject", "不予受理", {S.REGISTERED}, S.REJECTED, {Who.OWNER}, needs_note=True),
        _m("triage", "分流", {S.ACCEPTED, S.REOPENED}, S.TRIAGED, {Who.OWNER}),
        _m("assign", "交办", {S.TRIAGED, S.ESCALATED, S.RETURNED}, S.ASSIGNED, {Who.OWNER}),
        _m("start", "开始处置", {S.ASSIGNED}, S.IN_PROGRESS, {Who.OWNER, Who.LEAD}),
        _m(
            "escalate",
            "上报",
            {S.ACCEPTED, S.TRIAGED, S.ASSIGNED, S.IN_PROGRESS, S.RETURNED, S.REOPENED},
            S.ESCALATED,
            {Who.OWNER},
            max_tier=2,
            needs_note=True,
        ),
        _m(
            "return",
            "退回下级",
            {S.ESCALATED, S.TRIAGED, S.ASSIGNED, S.IN_PROGRESS},
            S.RETURNED,
            {Who.OWNER},
            min_tier=2,
            needs_note=True,
        ),
        _m("resolve", "办结", {S.IN_PROGRESS}, S.RESOLVED, {Who.OWNER, Who.LEAD}),
        _m("verify", "核查", {S.RESOLVED}, S.VERIFIED, {Who.SUPERVISOR}),
        # The citizen's verdict: the reporter's own, or recorded after a callback (回访) by a
        # supervising unit. Never by the unit that handled the case: it would grade itself.
        _m("rate", "评价", {S.VERIFIED}, S.RATED, {Who.REPORTER, Who.SUPERVISOR}),
        _m(
            "reopen",
            "重启",
            {S.RATED, S.CLOSED, S.VERIFIED},
            S.REOPENED,
            {Who.REPORTER, Who.SUPERVISOR},
            needs_note=True,
        ),
        _m("close", "归档", {S.RATED, S.VERIFIED}, S.CLOSED, {Who.SUPERVISOR, Who.OWNER}),
        _m("add_assist", "增加协办部门", WORKING, None, {Who.OWNER}, min_tier=2),
        _m("close_assist", "完成协办任务", WORKING, None, {Who.ASSIST, Who.OWNER}),
        _m("override_risk", "调整风险等级", OPEN, None, {Who.DISPATCHER}, needs_note=True),
        _m("update_facts", "补充研判要素", OPEN, None, {Who.OWNER, Who.SUPERVISOR, Who.GRID, Who.LEAD}),
        _m("comment", "备注", OPEN | {S.RESOLVED, S.VERIFIED, S.RATED, S.REJECTED}, None, {Who.ANY}),
        _m("request_suspension", "申请挂起", WORKING, None, {Who.OWNER, Who.LEAD}, needs_note=True),
        _m("request_extension", "申请延期", WORKING, None, {Who.OWNER, Who.LEAD}, needs_note=True),
        _m("decide_request", "审批挂起/延期", WORKING, None, {Who.SUPERVISOR}),
        _m("resume", "恢复计时", WORKING, None, {Who.OWNER, Who.SUPERVISOR, Who.LEAD}),
    ]
}

# The states each state can move to, derived from the table (for docs and tests).
NEXT_STATES: dict[str, set[str]] = {s: set() for s in S.values}
for _move in MOVES.values():
    for _source in _move.sources:
        if _move.target:
            NEXT_STATES[_source].add(_move.target)


def actor_relations(case: Case, user, *, assist_departments: set[int]) -> set[Who]:
    """Every relation the user has to the case (the union over their roles)."""
    roles = set(user.role_codes)
    unit = user.unit
    relations: set[Who] = set()
    if roles - {Role.LEADER}:
        relations.add(Who.ANY)
    if case.reporter_id is not None and case.reporter_id == user.pk and case.channel in SELF_REPORTED:
        relations.add(Who.REPORTER)
    if unit is None:
        return relations
    is_centre_dispatcher = Role.DISPATCHER in roles and unit.level == UnitLevel.DISTRICT
    if is_centre_dispatcher or (Role.UNIT_HANDLER in roles and unit.pk == case.owner_unit_id):
        relations.add(Who.OWNER)
    if Role.DISPATCHER in roles:
        relations.add(Who.DISPATCHER)
    if Role.DISPATCHER in roles or (
        Role.UNIT_HANDLER in roles and case.owner_path.startswith(unit.path) and unit.pk != case.owner_unit_id
    ):
        relations.add(Who.SUPERVISOR)
    dept_roles = {Role.DEPARTMENT_HANDLER, Role.MEDIATOR} & roles
    if dept_roles and unit.pk == case.lead_department_id:
        relations.add(Who.LEAD)
    if dept_roles and unit.pk in assist_departments:
        relations.add(Who.ASSIST)
    if Role.GRID_WORKER in roles and unit.pk == case.grid_id:
        relations.add(Who.GRID)
    return relations


def allowed_actions(case: Case, user, *, assist_departments: set[int]) -> list[str]:
    """The moves this user may make on this case now (for buttons and the API). A red case
    stays with the district and an orange one with the street or above: neither is offered
    a return below that."""
    relations = actor_relations(case, user, assist_departments=assist_departments)
    return [
        m.action
        for m in MOVES.values()
        if case.state in m.sources
        and m.min_tier <= case.tier <= m.max_tier
        and relations & m.who
        and not (m.action == "return" and returns_below_colour(case))
        and not (m.action == "rate" and grades_own_work(case, user))
    ]


# The channels on which the account that reported is the person reporting; on the others
# (a call, a visit, a letter, a referral, a sensor) it is the staff who registered it.
SELF_REPORTED = frozenset({Channel.PATROL, Channel.APP, Channel.ONLINE})


def grades_own_work(case: Case, user) -> bool:
    """Whether a verdict `user` records would be the handling unit's on its own work: the
    unit that owns the case below the district. At the district the departments handle
    and the centre coordinates, and its callback desk records the verdict."""
    return case.tier < Tier.DISTRICT and user.unit_id is not None and user.unit_id == case.owner_unit_id


def returns_below_colour(case: Case) -> bool:
    """Whether a return would hand the case below the tier its colour needs."""
    return case.tier - 1 < MIN_TIER_FOR_RISK[case.risk]
