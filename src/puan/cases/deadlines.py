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
