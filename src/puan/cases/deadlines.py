"""Deadlines of a case at a moment, from the SLA policies and the working calendar."""

from __future__ import annotations

from datetime import datetime

from puan.sla.engine import Plan, plan_for


def plan_for_case(case, start: datetime, **overrides) -> Plan:
    """The deadline plan for `case` (or overrides of its lane/tier/risk/kind) from `start`."""
    return plan_for(
        lane=overrides.get("lane", case.lane),
        tier=overrides.get("tier", case.tier),
        risk=overrides.get("risk", case.risk),
        kind=overrides.get("kind", case.kind),
        start=start,
    )


def deadlines_for(lane: str, start: datetime, *, tier: int = 1, risk: str = "yellow", kind: str = "event"):
    """(respond_due_at, resolve_due_at) for a case of this lane, tier, colour and kind."""
    plan = plan_for(lane=lane, tier=tier, risk=risk, kind=kind, start=start)
    return plan.respond_due_at, plan.resolve_due_at
