"""A small district's month, built through the real case services with a controlled
clock, whose every command-centre figure is known by hand (see `Scenario.expected`).

Day numbers are days after BASE (40 days ago, local time). Cases, all dispute G15-01
(lead department: justice) unless said otherwise:

- I  registered −40, resolved −39 at tier 1, closed; before every period below.
- A  registered d1 (grid a1), resolved d2 at the community, rated 5, closed.
- B  registered d1 (grid a1), escalated to the street, assigned to police, resolved d4
     at the street, rated 4, closed.
- H  d2: handled on the spot by the grid worker (no department).
- D  registered d3, resolved d3, rated 1 → reopened d4, handled again, resolved d5 at the
     community, verified (no rating after the latest resolution).
- F  registered d4, refused (不予受理).
- C  registered d6, ran past its deadline: the sweep marked it and escalated it to the
     street, which resolved it (late), rated 3, closed.
- E  registered the day after C closed, red (danger to life): district, alert, open.
- G  registered that day too, orange, in street b (grid b1): open.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from unittest.mock import patch

from django.utils import timezone

from puan.cases import services as svc
from puan.cases.models import Case
from puan.cases.tests.helpers import IN_GRID_A2, IN_GRID_B1, People, intake
from puan.sla.sweep import sweep

BASE = timezone.localdate() - timedelta(days=40)

# Points inside grid a1 (113.40–113.41 × 23.10–23.11), far enough apart (≥ 300 m) that
# intake never links one report to another as a duplicate.
POINTS = {
    "I": (113.4015, 23.1015),
    "A": (113.4015, 23.1085),
    "B": (113.4085, 23.1015),
    "H": (113.4085, 23.1085),
    "D": (113.4050, 23.1050),
    "F": (113.4020, 23.1050),
    "C": (113.4080, 23.1050),
    "E": IN_GRID_A2,
    "G": IN_GRID_B1,
}


def day(n: int) -> date:
    return BASE + timedelta(days=n)


def at(n: int, hour: int = 10, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day(n), time(hour, minute)))


@contextmanager
def clock(moment: datetime):
    """Every `timezone.now()` inside (the services', the ORM's auto_now) is `moment`."""
    with patch("django.utils.timezone.now", return_value=moment):
        yield


@dataclass
class Scenario:
    people: People
    cases: dict[str, Case]
    c_resolved: datetime  # when C was resolved (after the sweep escalated it)
    c_tier: int  # the tier C was resolved at
    e_day: int  # the day E and G were registered

    def case(self, name: str) -> Case:
        return Case.objects.get(pk=self.cases[name].pk)


def _move(moment: datetime, fn, case: Case, **kw) -> Case:
    with clock(moment):
        return fn(case=case, version=case.version, **kw)


def _to_in_progress(people: People, case: Case, moment: datetime) -> Case:
    for i, fn in enumerate((svc.case_accept, svc.case_triage, svc.case_assign, svc.case_start)):
        case = _move(moment + timedelta(minutes=i), fn, case, actor=people.community)
    return case


def _report(people: People, name: str, moment: datetime, **extra) -> Case:
    with clock(moment):
        return intake(people.grid_worker, lon_lat=POINTS[name], title=f"案件{name}", **extra).case


def build(world) -> Scenario:
    p = People(world)
    cases: dict[str, Case] = {}
    community, street, dispatcher, reporter = p.community, p.street, p.dispatcher, p.grid_worker

    # I: long before.
    c = _to_in_progress(p, _report(p, "I", at(-40, 9)), at(-40, 10))
    c = _move(at(-39), svc.case_resolve, c, actor=community, outcome="已调解")
    c = _move(at(-39, 15), svc.case_verify, c, actor=street)
    cases["I"] = _move(at(-39, 16), svc.case_close, c, actor=street)

    # A: resolved at the community on d2, rated 5.
    c = _to_in_progress(p, _report(p, "A", at(1, 9)), at(1, 10))
    c = _move(at(2), svc.case_resolve, c, actor=community, outcome="已调解")
    c = _move(at(2, 15), svc.case_verify, c, actor=street)
    c = _move(at(3, 9), svc.case_rate, c, actor=reporter, satisfaction=5)
    cases["A"] = _move(at(3, 10), svc.case_close, c, actor=street)

    # B: escalated by the community, handled by the street with the police leading.
    c = _report(p, "B", at(1, 11))
    c = _move(at(1, 11, 30), svc.case_accept, c, actor=community)
    c = _move(at(1, 11, 40), svc.case_triage, c, actor=community)
    c = _move(at(1, 12), svc.case_escalate, c, actor=community, note="需街道会诊")
    c = _move(at(2, 9), svc.case_assign, c, actor=street, lead_department_id=world.police.pk)
    c = _move(at(2, 9, 30), svc.case_start, c, actor=street)
    c = _move(at(4), svc.case_resolve, c, actor=street, outcome="联合调处")
    c = _move(at(4, 15), svc.case_verify, c, actor=dispatcher)
    c = _move(at(5, 9), svc.case_rate, c, actor=reporter, satisfaction=4)
    cases["B"] = _move(at(5, 10), svc.case_close, c, actor=dispatcher)

    # H: settled on the spot by the grid worker.
    from puan.cases.attachments import attachment_upload

    with clock(at(2, 14)):
        photo = attachment_upload(actor=reporter, name="现场.png", content=b"\x89PNG\r\n\x1a\n" + b"0" * 100)
    cases["H"] = _report(
        p,
        "H",
        at(2, 14, 5),
        category="G11-03",
        kind="event",
        handled_on_spot=True,
        outcome="已清理",
        evidence_ids=[photo.pk],
    )

    # D: resolved, rated 1 (reopened at once), resolved again on d5.
    c = _to_in_progress(p, _report(p, "D", at(3, 9)), at(3, 9, 30))
    c = _move(at(3, 11), svc.case_resolve, c, actor=community, outcome="已协调")
    c = _move(at(3, 15), svc.case_verify, c, actor=street)
    c = _move(at(4, 9), svc.case_rate, c, actor=reporter, satisfaction=1, note="没解决")
    c = _move(at(4, 10), svc.case_triage, c, actor=community)
    c = _move(at(4, 10, 30), svc.case_assign, c, actor=community)
    c = _move(at(4, 11), svc.case_start, c, actor=community)
    c = _move(at(5), svc.case_resolve, c, actor=community, outcome="再次协调，已解决")
    cases["D"] = _move(at(5, 15), svc.case_verify, c, actor=street)

    # F: refused.
    c = _report(p, "F", at(4, 12))
    cases["F"] = _move(at(4, 13), svc.case_reject, c, actor=community, note="已进入诉讼程序")

    # C: past its deadline; the sweep marks it and sends it up; resolved late.
    c = _to_in_progress(p, _report(p, "C", at(6, 9)), at(6, 9, 30))
    late = c.resolve_due_at + timedelta(minutes=1)
    with clock(late):
        sweep(now=late)
    c.refresh_from_db()
    owner = {2: street, 3: dispatcher}[c.tier]
    c = _move(late + timedelta(hours=1), svc.case_assign, c, actor=owner)
    c = _move(late + timedelta(hours=1, minutes=30), svc.case_start, c, actor=owner)
    c_resolved = late + timedelta(hours=3)
    c = _move(c_resolved, svc.case_resolve, c, actor=owner, outcome="街道协调解决")
    c_tier = c.tier
    c = _move(c_resolved + timedelta(hours=1), svc.case_verify, c, actor=dispatcher)
    c = _move(c_resolved + timedelta(days=1), svc.case_rate, c, actor=reporter, satisfaction=3)
    cases["C"] = _move(c_resolved + timedelta(days=1, hours=1), svc.case_close, c, actor=dispatcher)

    # E and G: open now.
    e_day = (timezone.localdate(c_resolved) - BASE).days + 2
    cases["E"] = _report(p, "E", at(e_day, 9), facts={"danger_to_life": True, "people_involved": 3})
    cases["E"] = _move(at(e_day, 9, 30), svc.case_accept, cases["E"], actor=dispatcher)
    cases["G"] = _report(p, "G", at(e_day, 10), facts={"people_involved": 6})
    return Scenario(people=p, cases=cases, c_resolved=c_resolved, c_tier=c_tier, e_day=e_day)
