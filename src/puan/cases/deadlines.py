"""Deadlines per lane (急事急办、简事快办、繁事精办、难事认真办).

Urgent cases run on the clock; the others count working days (Monday to Friday here;
the configurable holiday calendar refines this).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from puan.taxonomy.models import Lane


@dataclass(frozen=True)
class LanePolicy:
    respond_minutes: int | None  # on the clock
    respond_working_days: int | None
    resolve_hours: int | None  # on the clock
    resolve_working_days: int | None


LANE_POLICIES = {
    Lane.URGENT: LanePolicy(respond_minutes=30, respond_working_days=None, resolve_hours=24, resolve_working_days=None),
    Lane.SIMPLE: LanePolicy(respond_minutes=None, respond_working_days=1, resolve_hours=None, resolve_working_days=3),
    Lane.COMPLEX: LanePolicy(respond_minutes=None, respond_working_days=1, resolve_hours=None, resolve_working_days=15),
    Lane.DIFFICULT: LanePolicy(
        respond_minutes=None, respond_working_days=1, resolve_hours=None, resolve_working_days=30
    ),
}


def add_working_days(start: datetime, days: int) -> datetime:
    local = timezone.localtime(start)
    added = 0
    while added < days:
        local += timedelta(days=1)
        if local.weekday() < 5:
            added += 1
    return local


def deadlines_for(lane: str, start: datetime) -> tuple[datetime, datetime]:
    """(respond_due_at, resolve_due_at) for a case entering `lane` at `start`."""
    policy = LANE_POLICIES[Lane(lane)]
    if policy.respond_minutes is not None:
        respond = start + timedelta(minutes=policy.respond_minutes)
    else:
        respond = add_working_days(start, policy.respond_working_days or 1)
    if policy.resolve_hours is not None:
        resolve = start + timedelta(hours=policy.resolve_hours)
    else:
        resolve = add_working_days(start, policy.resolve_working_days or 1)
    return respond, resolve
