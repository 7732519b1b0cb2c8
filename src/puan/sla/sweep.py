"""The deadline sweep: reminders at 50% and 80% of the time, overdue marking, and
escalation to the next tier when a tier's deadline passes.

The sweep reads only cases whose `next_sla_at` has come (a partial index), so its cost
follows the number due, not the number open. Every step is claimed with a compare-and-
set in the same statement that performs it (`UPDATE … WHERE stage = old … RETURNING`):
two sweeps running at once never remind, mark or escalate one case twice, and a user's
move that lands first simply makes the sweep skip that case until the next run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from puan.cases.models import OPEN_STATES, Case, CaseEvent

log = logging.getLogger(__name__)

STAGE_NONE, STAGE_50, STAGE_80, STAGE_OVERDUE = 0, 1, 2, 3
BATCH = 2000


@dataclass
class SweepReport:
    reminded_50: int = 0
    reminded_80: int = 0
    overdue: int = 0
    escalated: int = 0
    seconds: float = 0.0
    case_ids: dict[str, list[int]] = field(default_factory=dict)

    def as_line(self) -> str:
        return (
            f"50%提醒 {self.reminded_50} 件，80%提醒 {self.reminded_80} 件，"
            f"标记超期 {self.overdue} 件，自动上报 {self.escalated} 件，用时 {self.seconds:.2f} 秒"
        )


def _placeholders(values) -> str:
    return ", ".join(["%s"] * len(values))


def _advance(sql_set: str, params: list, where: str, where_params: list, returning: str) -> list[tuple]:
    table = Case._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {table} SET {sql_set} WHERE {where} RETURNING {returning}", params + where_params)
        return cur.fetchall()


def sweep(*, now: datetime | None = None, batch: int = BATCH) -> SweepReport:
    """Act on every case that is due at `now` (default: the present)."""
    started = timezone.now()
    now = now or started
    report = SweepReport()
    while True:
        with transaction.atomic():
            ids = list(
                Case.objects.filter(next_sla_at__lte=now, state__in=OPEN_STATES, suspended_at__isnull=True)
                .order_by("next_sla_at")
                .values_list("pk", flat=True)[:batch]
            )
            if not ids:
                break
            _sweep_batch(ids, now, report)
    report.seconds = (timezone.now() - started).total_seconds()
    if report.reminded_50 or report.reminded_80 or report.overdue:
        log.info("sweep at %s: %s", now.isoformat(), report.as_line())
    return report


def _sweep_batch(ids: list[int], now: datetime, report: SweepReport) -> None:
    from puan.notifications.services import Message, notify

    states = list(OPEN_STATES)
    base = (
        f"id IN ({_placeholders(ids)}) AND next_sla_at <= %s AND suspended_at IS NULL"
        f" AND state IN ({_placeholders(states)})"
    )
    base_params = [*ids, now, *states]
    messages: list[Message] = []

    # Overdue first: a case whose deadline passed is marked (and escalated) without
    # first being sent two stale reminders.
    overdue_rows = _advance(
        "sla_stage = %s, is_overdue = %s, overdue_at = %s, next_sla_at = NULL, version = version + 1, updated_at = %s",
        [STAGE_OVERDUE, True, now, now],
        base + " AND sla_stage < %s AND resolve_due_at <= %s",
        [*base_params, STAGE_OVERDUE, now],
        "id, version, tier, state, owner_unit_id, title, tracking_code",
    )
    if overdue_rows:
        CaseEvent.objects.bulk_create(
            [
                CaseEvent(
                    case_id=pk,
                    seq=version,
                    kind="overdue",
                    from_state=state,
                    to_state=state,
                    tier=tier,
                    note="已超过办结时限",
                    data={"at": now.isoformat()},
                    at=now,
                )
                for pk, version, tier, state, *_ in overdue_rows
            ]
        )
        report.overdue += len(overdue_rows)
        report.case_ids.setdefault("overdue", []).extend(r[0] for r in overdue_rows)
        messages += [
            Message(
                kind="sla_overdue",
                title=f"案件超期：{title}",
                body=f"查询码 {code} 已超过办结时限。",
                case_id=pk,
                unit_id=owner,
                sms=True,
            )
            for pk, _, _, _, owner, title, code in overdue_rows
        ]
        report.escalated += _escalate_overdue(overdue_rows, now, messages)

    for stage_from, stage_to, mark_column, next_column, kind, label in (
        (STAGE_NONE, STAGE_80, "sla_mark_80_at", "resolve_due_at", "sla_reminder_80", "80%"),
        (STAGE_NONE, STAGE_50, "sla_mark_50_at", "sla_mark_80_at", "sla_reminder_50", "50%"),
        (STAGE_50, STAGE_80, "sla_mark_80_at", "resolve_due_at", "sla_reminder_80", "80%"),
    ):
        rows = _advance(
            f"sla_stage = %s, next_sla_at = {next_column}",
            [stage_to],
            base + f" AND sla_stage = %s AND {mark_column} <= %s",
            [*base_params, stage_from, now],
            "id, owner_unit_id, title, tracking_code",
        )
        if stage_to == STAGE_50:
            report.reminded_50 += len(rows)
        else:
            report.reminded_80 += len(rows)
        messages += [
            Message(
                kind=kind,
                title=f"时限提醒（已过{label}）：{title}",
                body=f"查询码 {code}，请抓紧办理。",
                case_id=pk,
                unit_id=owner,
            )
            for pk, owner, title, code in rows
        ]
    if messages:
        notify(*messages)


def _escalate_overdue(rows: list[tuple], now: datetime, messages: list) -> int:
    """Cases overdue below the district go up one tier on a fresh clock, by the system,
    exactly as a handler's escalation would (`escalation_changes`)."""
    from puan.cases.models import CommandAlert, Risk
    from puan.cases.services import escalation_changes
    from puan.cases.transitions import MOVES
    from puan.notifications.services import Message
    from puan.org.models import PATH_SEGMENT_WIDTH, Unit

    sources = MOVES["escalate"].sources
    below = {r[0]: r for r in rows if r[2] < 3 and r[3] in sources}
    if not below:
        return 0
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
            "tracking_code",
        )
    )
    # Every owner an escalation can land on, in one query.
    w = PATH_SEGMENT_WIDTH
    paths = {c.area_path[: d * w] for c in cases for d in (1, 2, 3)}
    units = {u.path: u for u in Unit.objects.defer("boundary").filter(path__in=paths)}
    events, alerts, escalated = [], [], 0
    for case in cases:
        _, version, _, state, *_ = below[case.pk]
        case.version = version
        changes = escalation_changes(case, now, units)
        updated = Case.objects.filter(pk=case.pk, version=version, state=state).update(
            state="escalated", escalated_at=now, version=version + 1, updated_at=now, **changes
        )
        if updated != 1:
            continue
        owner = changes["owner_unit"]
        events.append(
            CaseEvent(
                case_id=case.pk,
                seq=version + 1,
                kind="escalate",
                from_state=state,
                to_state="escalated",
                tier=changes["tier"],
                note="超过本级办结时限，系统自动上报",
                at=now,
                data={"tier": changes["tier"], "owner_unit": owner.pk, "risk": changes["risk"], "by": "sweep"},
            )
        )
        if changes["risk"] == Risk.RED and case.risk != Risk.RED:
            alerts.append(CommandAlert(case_id=case.pk, message=f"红色预警：{case.title}", created_at=now))
        messages.append(
            Message(
                kind="case_escalated",
                title=f"超期自动上报：{case.title}",
                body=f"查询码 {case.tracking_code} 已上报至{owner.name}。",
                case_id=case.pk,
                unit_id=owner.pk,
            )
        )
        escalated += 1
    CaseEvent.objects.bulk_create(events)
    CommandAlert.objects.bulk_create(alerts)
    return escalated
