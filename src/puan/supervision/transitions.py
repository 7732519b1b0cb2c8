"""The one table of allowed moves on a supervision order: from which states, to which
state, by whom.

"Who" is a relation between the actor and the order:
- CENTRE: a dispatcher of the district centre (the issuer's side);
- ADDRESSEE: a handler of the addressed unit, or the unit's head;
- SYSTEM: the deadline sweep (no actor).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from puan.accounts.roles import Role
from puan.accounts.selectors import is_read_only
from puan.org.models import UnitLevel
from puan.supervision.models import ESCALATABLE_STATES, OrderState, SupervisionOrder

S = OrderState


class Who(StrEnum):
    CENTRE = "centre"
    ADDRESSEE = "addressee"
    SYSTEM = "system"


@dataclass(frozen=True)
class OrderMove:
    action: str
    label: str
    sources: frozenset[str]
    target: str
    who: Who
    needs_note: bool = False
    # Further sources when the order asks for no response (a notice to be read only):
    # the centre may then close it without waiting for an answer that is not coming.
    sources_without_response: frozenset[str] = frozenset()

    def allowed_from(self, order: SupervisionOrder) -> frozenset[str]:
        return self.sources if order.response_required else self.sources | self.sources_without_response


def _m(action, label, sources, target, who, **kw) -> OrderMove:
    kw = {k: frozenset(v) if isinstance(v, set | tuple) else v for k, v in kw.items()}
    return OrderMove(action, label, frozenset(sources), target, who, **kw)


ORDER_MOVES: dict[str, OrderMove] = {
    m.action: m
    for m in [
        _m("acknowledge", "签收", {S.ISSUED}, S.ACKNOWLEDGED, Who.ADDRESSEE),
        # Answering an order that was never signed for signs for it too.
        _m("respond", "反馈", {S.ISSUED, S.ACKNOWLEDGED, S.ESCALATED}, S.RESPONDED, Who.ADDRESSEE),
        _m(
            "close",
            "办结",
            {S.RESPONDED},
            S.CLOSED,
            Who.CENTRE,
            sources_without_response={S.ISSUED, S.ACKNOWLEDGED},
        ),
        _m("return", "退回重办", {S.RESPONDED}, S.ISSUED, Who.CENTRE, needs_note=True),
        _m("escalate", "超期升级", set(ESCALATABLE_STATES), S.ESCALATED, Who.SYSTEM),
    ]
}

USER_ACTIONS = ("acknowledge", "respond", "close", "return")

# Roles whose holders answer for the unit they belong to. The head answers whatever
# their roles: an interview (约谈) summons the head in person.
ADDRESSEE_ROLES = frozenset({Role.UNIT_HANDLER, Role.DEPARTMENT_HANDLER, Role.MEDIATOR})


def is_centre_dispatcher(user) -> bool:
    unit = getattr(user, "unit", None)
    return (
        user is not None
        and user.is_authenticated
        and unit is not None
        and unit.level == UnitLevel.DISTRICT
        and Role.DISPATCHER in user.role_codes
    )


def actor_relations(order: SupervisionOrder, user) -> set[Who]:
    relations: set[Who] = set()
    if user is None:
        return {Who.SYSTEM}
    if is_centre_dispatcher(user):
        relations.add(Who.CENTRE)
    if user.pk == order.unit.head_id or (
        user.unit_id == order.unit_id and ADDRESSEE_ROLES & set(user.role_codes) and not is_read_only(user)
    ):
        relations.add(Who.ADDRESSEE)
    return relations


def allowed_actions(order: SupervisionOrder, user) -> list[str]:
    """The moves the user could make now (the buttons to show)."""
    relations = actor_relations(order, user)
    return [
        a for a in USER_ACTIONS if ORDER_MOVES[a].who in relations and order.state in ORDER_MOVES[a].allowed_from(order)
    ]
