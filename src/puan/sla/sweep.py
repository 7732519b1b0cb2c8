"""The deadline sweep: a reminder when a report is still not accepted at its response
deadline (urgent matters: 30 minutes), reminders at 50% and 80% of the time, overdue
marking, and escalation to the next tier when a tier's deadline passes.

The sweep reads only cases whose `next_sla_at` has come (a partial index), so its cost
follows the number due, not the number open. Every step is claimed with a compare-and-
set in the same statement that performs it (`UPDATE … WHERE stage = old … RETURNING`):
two sweeps running at once never remind, mark or escalate one case twice, and a user's
move that lands first simply makes the sweep skip that case until the next run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from puan.cases.models import OPEN_STATES, Case, CaseEvent, CaseState
from puan.core.statements import update_columns

log = logging.getLogger(__name__)

STAGE_NONE, STAGE_50, STAGE_80, STAGE_OVERDUE = 0, 1, 2, 3
# At each stage, the column that says when the sweep must look at the case next.
NEXT_LOOK = {STAGE_NONE: "sla_mark_50_at", STAGE_50: "sla_mark_80_at", STAGE_80: "resolve_due_at"}
BATCH = 2000


@dataclass
class SweepReport:
    reminded_respond: int = 0
    reminded_50: int = 0
    reminded_80: int = 0
    overdue: int = 0
    escalated: int = 0
    seconds: float = 0.0

    def as_line(self) -> str:
        return (
            f"超时未受理提醒 {self.reminded_respond} 件，50%提醒 {self.reminded_50} 件，80%提醒 {self.reminded_80} 件，"
            f"标记超期 {self.overdue} 件，自动上报 {self.escalated} 件，用时 {self.seconds:.2f} 秒"
        )


def _placeholders(values) -> str:
    return ", ".join(["%s"] * len(values))


def _db(value):
    """Raw SQL parameters in the form the ORM would store them (naive UTC on SQLite)."""
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


def _advance(sql_set: str, params: list, where: str, where_params: list, returning: str) -> list[tuple]:
    table = Case._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE {table} SET {sql_set} WHERE {where} RETURNING {returning}",
            [_db(p) for p in params + where_params],
        )
        return cur.fetchall()


def _insert_events(events: list[tuple[int, int, str, str, str, int, str, dict]], now: datetime) -> None:
    """System timeline events (no actor) for many cases at one moment."""
    data_field = CaseEvent._meta.get_field("data")
    at = _db(now)
    rows = [
        (case_id, seq, kind, from_state, to_state, tier, note, data_field.get_db_prep_save(data, connection), at)
        for case_id, seq, kind, from_state, to_state, tier, note, data in events
    ]
    with connection.cursor() as cur:
        cur.executemany(
            f"INSERT INTO {CaseEvent._meta.db_table} (case_id, seq, kind, from_state, to_state, tier, note, data, at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )


def sweep(*, now: datetime | None = None, batch: int = BATCH) -> SweepReport:
    """Act on every case that is due at `now` (default: the present)."""
    started = timezone.now()
    now = now or started
    report = SweepReport()
    last_id = 0
    while True:
        with transaction.atomic():
            # Walk due cases in id order, each once per sweep: a case whose columns say
            # "due" but that no step can advance (an inconsistent row) cannot hold the
            # sweep in a loop.
            ids = list(
                Case.objects.filter(
                    next_sla_at__lte=now, state__in=OPEN_STATES, suspended_at__isnull=True, pk__gt=last_id
                )
                .order_by("pk")
                .values_list("pk", flat=True)[:batch]
            )
            if not ids:
                break
            _sweep_batch(ids, now, report)
            last_id = ids[-1]
    report.seconds = (timezone.now() - started).total_seconds()
    if report.reminded_respond or report.reminded_50 or report.reminded_80 or report.overdue:
        log.info("sweep at %s: %s", now.isoformat(), report.as_line())
    return report


def _due(ids: list[int], now: datetime) -> tuple[str, list]:
    """The condition every step of a batch starts from (those of `ids` still due), and its
    parameters."""
    states = list(OPEN_STATES)
    sql = (
        f"id IN ({_placeholders(ids)}) AND next_sla_at <= %s AND suspended_at IS NULL"
        f" AND state IN ({_placeholders(states)})"
    )
    return sql, [*ids, now, *states]


def _sweep_batch(ids: list[int], now: datetime, report: SweepReport) -> None:
    base, base_params = _due(ids, now)
    digest = _Digest()

    # Overdue first: a case whose deadline passed is marked (and escalated) without first
    # being sent two stale reminders. The UPDATE … RETURNING both claims the rows and
    # locks them until this transaction ends, so the escalation below cannot race a user.
    overdue_rows = _advance(
        "sla_stage = %s, is_overdue = %s, overdue_at = %s, next_sla_at = NULL, version = version + 1, updated_at = %s",
        [STAGE_OVERDUE, True, now, now],
        base + " AND sla_stage < %s AND resolve_due_at <= %s",
        [*base_params, STAGE_OVERDUE, now],
        "id, version, tier, state, owner_unit_id",
    )
    if overdue_rows:
        report.overdue += len(overdue_rows)
        for pk, _, _, _, owner in overdue_rows:
            digest.add("sla_overdue", owner, pk)
        # One timeline event per case: the escalation itself says it was for lateness.
        escalated = _escalate_overdue(overdue_rows, now, digest)
        report.escalated += len(escalated)
        marked = {"at": now.isoformat()}
        _insert_events(
            [
                (pk, version, "overdue", state, state, tier, "已超过办结时限", marked)
                for pk, version, tier, state, _ in overdue_rows
                if pk not in escalated
            ],
            now,
        )

    # The cases just marked overdue have nothing else due: the reminders read the rest.
    claimed = {row[0] for row in overdue_rows}
    rest = [pk for pk in ids if pk not in claimed]
    if not rest:
        digest.send()
        return
    base, base_params = _due(rest, now)

    # The response deadline: intake set the first look there (when it comes before the 50%
    # mark). A report still not accepted gets one reminder to its owner; an accepted one
    # nothing. Either way the next look is the 50% mark, so nobody is reminded twice.
    for pk, owner, state in _advance(
        "next_sla_at = sla_mark_50_at",
        [],
        base + " AND sla_stage = %s AND respond_due_at <= %s AND next_sla_at <= respond_due_at",
        [*base_params, STAGE_NONE, now],
        "id, owner_unit_id, state",
    ):
        if state == CaseState.REGISTERED:
            report.reminded_respond += 1
            digest.add("sla_respond_overdue", owner, pk)

    for stage_from, stage_to, mark_column, kind in (
        (STAGE_NONE, STAGE_80, "sla_mark_80_at", "sla_reminder_80"),
        (STAGE_NONE, STAGE_50, "sla_mark_50_at", "sla_reminder_50"),
        (STAGE_50, STAGE_80, "sla_mark_80_at", "sla_reminder_80"),
    ):
        rows = _advance(
            f"sla_stage = %s, next_sla_at = {NEXT_LOOK[stage_to]}",
            [stage_to],
            base + f" AND sla_stage = %s AND {mark_column} <= %s",
            [*base_params, stage_from, now],
            "id, owner_unit_id",
        )
        if stage_to == STAGE_50:
            report.reminded_50 += len(rows)
        else:
            report.reminded_80 += len(rows)
        for pk, owner in rows:
            digest.add(kind, owner, pk)
    digest.send()


class _Digest:
    """One inbox message per unit and kind per sweep ("3 件案件已超期"), not one per case:
    a handler opening the inbox after a long weekend should see a list, not a flood."""

    TITLES = {
        "sla_respond_overdue": "{n} 件案件已过响应时限仍未受理，请立即受理",
        "sla_reminder_50": "{n} 件案件办理时间已过半",
        "sla_reminder_80": "{n} 件案件办理时间已过80%，请抓紧办理",
        "sla_overdue": "{n} 件案件已超过办结时限",
        "case_escalated": "{n} 件超期案件已自动上报至本单位",
    }

    def __init__(self) -> None:
        self.groups: dict[tuple[str, int], list[int]] = {}

    def add(self, kind: str, unit_id: int, case_id: int) -> None:
        self.groups.setdefault((kind, unit_id), []).append(case_id)

    def send(self) -> None:
        if not self.groups:
            return
        from puan.notifications.services import Message, notify

        notify(
            *[
                Message(
                    kind=kind,
                    title=self.TITLES[kind].format(n=len(case_ids)),
                    body="查询码见案件列表。",
                    case_id=case_ids[0] if len(case_ids) == 1 else None,
                    unit_id=unit_id,
                    data={"case_ids": case_ids[:500], "count": len(case_ids)},
                )
                for (kind, unit_id), case_ids in self.groups.items()
            ]
        )


def _escalate_overdue(rows: list[tuple], now: datetime, digest: _Digest) -> set[int]:
    """Cases overdue below the district go up one tier on a fresh clock, by the system,
    exactly as a handler's escalation would (`escalation_changes`). The overdue claim has
    already bumped their version; the escalation is the event at that version."""
    from puan.cases.models import CommandAlert, Risk
    from puan.cases.services import escalation_changes
    from puan.cases.transitions import MOVES

    sources = MOVES["escalate"].sources | {CaseState.REGISTERED}
    below = {r[0]: r for r in rows if r[2] < 3 and r[3] in sources}
    if not below:
        return set()
    cases = list(
        Case.objects.filter(pk__in=below).only(
            "pk",
            "version",
            "tier",
            "state",
            "area_path",
            "lane",
            "risk",
            "risk_override",
            "risk_reasons",
            "kind",
            "risk_facts",
            "title",
        )
    )
    # Owners come from the process's copy of the units; one plan per lane/tier/colour/kind.
    plans: dict = {}
    events, alerts = [], []
    fields: set[str] = {"state", "escalated_at", "version", "updated_at"}
    unaccepted = [case for case in cases if case.state == CaseState.REGISTERED]
    if unaccepted:
        _send_up_unaccepted(unaccepted, below, now, digest)
        cases = [case for case in cases if case.state != CaseState.REGISTERED]
    for case in cases:
        _, version, _, state, _ = below[case.pk]
        was_red = case.risk == Risk.RED
        changes = escalation_changes(case, now, plans)
        for name, value in changes.items():
            setattr(case, name, value)
        fields.update(changes)
        case.state, case.escalated_at, case.version, case.updated_at = "escalated", now, version, now
        owner = changes["owner_unit"]
        events.append(
            (
                case.pk,
                version,
                "escalate",
                state,
                "escalated",
                changes["tier"],
                "超过本级办结时限，系统自动上报",
                {
                    "tier": changes["tier"],
                    "owner_unit": owner.pk,
                    "risk": changes["risk"],
                    "by": "sweep",
                    "overdue": True,
                },
            )
        )
        if changes["risk"] == Risk.RED and not was_red:
            alerts.append(CommandAlert.for_red_case(case, now))
        digest.add("case_escalated", owner.pk, case.pk)
    if cases:
        update_columns(cases, sorted(fields))
        _insert_events(events, now)
        CommandAlert.objects.bulk_create(alerts)
    return {c.pk for c in cases} | {c.pk for c in unaccepted}


def _send_up_unaccepted(cases: list[Case], claimed: dict, now: datetime, digest: _Digest) -> None:
    """Reports their tier never accepted by the deadline go to the tier above, still
    registered: that tier accepts or refuses them (an escalation would skip both). The
    step is the lateness mark on the timeline, an `overdue` event that says where the
    report went."""
    from puan.cases.services import unaccepted_send_up_changes

    fields: set[str] = {"version", "updated_at"}
    events = []
    for case in cases:
        version = claimed[case.pk][1]
        changes = unaccepted_send_up_changes(case, now)
        for name, value in changes.items():
            setattr(case, name, value)
        fields.update(changes)
        case.version, case.updated_at = version, now
        owner = changes["owner_unit"]
        events.append(
            (
                case.pk,
                version,
                "overdue",
                CaseState.REGISTERED,
                CaseState.REGISTERED,
                changes["tier"],
                "超过本级时限未受理，系统自动转上级受理",
                {
                    "at": now.isoformat(),
                    "tier": changes["tier"],
                    "owner_unit": owner.pk,
                    "by": "sweep",
                    "sent_up": True,
                },
            )
        )
        digest.add("case_escalated", owner.pk, case.pk)
    update_columns(cases, sorted(fields))
    _insert_events(events, now)
