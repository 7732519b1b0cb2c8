"""Which policy applies to a case and what its deadlines are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from puan.core.cache import TimedCopy
from puan.sla.calendar import WorkingCalendar, working_calendar

# Defaults from the brief: urgent — respond 30 min, resolve 24 h (on the clock); simple —
# accept in 1 working day, resolve in 3; complex — 15 working days; difficult — 30 working
# days, extendable once; petitions (信访) — 60 days + 30 days by the petition regulation.
DAY = 24 * 60
DEFAULT_POLICIES = [
    # name, lane, tier, risk, kind, respond, resolve, working_time, extension
    ("急事急办", "urgent", None, "", "", 30, DAY, False, 0),
    ("简事快办", "simple", None, "", "", DAY, 3 * DAY, True, 0),
    ("繁事精办", "complex", None, "", "", DAY, 15 * DAY, True, 0),
    ("难事认真办", "difficult", None, "", "", DAY, 30 * DAY, True, 30 * DAY),
    ("信访事项（60日内办结，可延长30日）", "", None, "", "petition", DAY, 60 * DAY, False, 30 * DAY),
]


@dataclass(frozen=True)
class Policy:
    id: int
    name: str
    lane: str
    tier: int | None
    risk: str
    kind: str
    respond_minutes: int
    resolve_minutes: int
    working_time: bool
    extension_minutes: int

    def matches(self, *, lane: str, tier: int, risk: str, kind: str) -> int | None:
        """How specific the match is (None: no match). The dimensions weigh differently so
        that a rule of law beats a habit: a kind (petitions' statutory 60 days) outranks a
        colour, a colour outranks a tier, a tier outranks a lane."""
        score = 0
        for mine, theirs, weight in (
            (self.kind, kind, 8),
            (self.risk, risk, 4),
            (self.tier, tier, 2),
            (self.lane, lane, 1),
        ):
            if mine in ("", None):
                continue
            if mine != theirs:
                return None
            score += weight
        return score


@dataclass(frozen=True)
class Plan:
    policy: Policy
    started_at: datetime
    respond_due_at: datetime
    resolve_due_at: datetime
    mark_50_at: datetime
    mark_80_at: datetime

    def case_fields(self) -> dict:
        """The Case columns that carry this plan; the sweep's next look is the 50% mark.
        A fresh plan's clock runs: a suspension of the clock it replaces ends with it."""
        return {
            "sla_started_at": self.started_at,
            "respond_due_at": self.respond_due_at,
            "resolve_due_at": self.resolve_due_at,
            "sla_mark_50_at": self.mark_50_at,
            "sla_mark_80_at": self.mark_80_at,
            "next_sla_at": self.mark_50_at,
            "sla_stage": 0,
            "is_overdue": False,
            "suspended_at": None,
        }


def _load_policies() -> list[Policy]:
    from puan.sla.models import SlaPolicy

    return [
        Policy(
            p.pk,
            p.name,
            p.lane,
            p.tier,
            p.risk,
            p.kind,
            p.respond_minutes,
            p.resolve_minutes,
            p.working_time,
            p.extension_minutes,
        )
        for p in SlaPolicy.objects.filter(is_active=True).order_by("pk")
    ]


_policies = TimedCopy(_load_policies, depends_on=["sla.SlaPolicy"])


def active_policies() -> list[Policy]:
    return _policies.get()


def policies_invalidate() -> None:
    _policies.invalidate()


def policy_for(*, lane: str, tier: int, risk: str, kind: str, policies: list[Policy] | None = None) -> Policy:
    best: tuple[int, Policy] | None = None
    for policy in policies if policies is not None else active_policies():
        score = policy.matches(lane=lane, tier=tier, risk=risk, kind=kind)
        if score is not None and (best is None or score > best[0]):
            best = (score, policy)
    if best is None:
        # No policy configured at all: fall back to the brief's default for the lane.
        name, p_lane, _, _, _, respond, resolve, working, ext = next(
            (p for p in DEFAULT_POLICIES if p[1] == lane), DEFAULT_POLICIES[1]
        )
        return Policy(0, name, p_lane, None, "", "", respond, resolve, working, ext)
    return best[1]


def add_time(calendar: WorkingCalendar, start: datetime, minutes: float, working: bool) -> datetime:
    return add_times(calendar, start, [minutes], working)[0]


def add_times(calendar: WorkingCalendar, start: datetime, minutes: list[float], working: bool) -> list[datetime]:
    """`add_time` for several durations from one start (in working time: one calendar walk)."""
    return calendar.add_each(start, minutes) if working else [start + timedelta(minutes=m) for m in minutes]


def plan_for(
    *, lane: str, tier: int, risk: str, kind: str, start: datetime, calendar: WorkingCalendar | None = None
) -> Plan:
    policy = policy_for(lane=lane, tier=tier, risk=risk, kind=kind)
    resolve = policy.resolve_minutes
    respond_due, resolve_due, mark_50, mark_80 = add_times(
        calendar or working_calendar(),
        start,
        [policy.respond_minutes, resolve, resolve * 0.5, resolve * 0.8],
        policy.working_time,
    )
    return Plan(
        policy=policy,
        started_at=start,
        respond_due_at=respond_due,
        resolve_due_at=resolve_due,
        mark_50_at=mark_50,
        mark_80_at=mark_80,
    )


def remaining_minutes(*, due: datetime, now: datetime, working: bool, calendar: WorkingCalendar | None = None) -> float:
    """Time left until `due` (negative when overdue), in the policy's kind of time."""
    calendar = calendar or working_calendar()
    if not working:
        return (due - now).total_seconds() / 60
    if due >= now:
        return calendar.between(now, due)
    return -calendar.between(due, now)


def policies_install_defaults() -> int:
    """Create the brief's default policies when there are none (as the migration does)."""
    from puan.sla.models import SlaPolicy

    if SlaPolicy.objects.exists():
        return 0
    SlaPolicy.objects.bulk_create(
        [
            SlaPolicy(
                name=name,
                lane=lane,
                tier=tier,
                risk=risk,
                kind=kind,
                respond_minutes=respond,
                resolve_minutes=resolve,
                working_time=working,
                extension_minutes=extension,
            )
            for name, lane, tier, risk, kind, respond, resolve, working, extension in DEFAULT_POLICIES
        ]
    )
    policies_invalidate()
    return len(DEFAULT_POLICIES)
