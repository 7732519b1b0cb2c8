"""The monthly bulletin: figures checked against the fixture cases, then the PDF, the
workbook and the endpoint."""

from __future__ import annotations

import base64
import contextlib
import io
import math
import re
import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from unittest.mock import patch
from urllib.parse import quote

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from puan.cases.tests.helpers import People
from puan.supervision import services as svc
from puan.supervision.bulletin import (
    Figures,
    bulletin_data,
    bulletin_pdf,
    bulletin_xlsx,
    month_bounds,
    parse_month,
)
from puan.supervision.models import SupervisionOrder
from puan.supervision.tests.factories import case_in, issue

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def last_month() -> date:
    return (timezone.localdate().replace(day=1) - DAY).replace(day=1)


@dataclass
class Spec:
    name: str
    grid: str
    street: str
    created: datetime
    due: datetime | None
    state: str
    resolved: datetime | None = None
    reopened: datetime | None = None


@pytest.fixture
def people(world):
    return People(world)


@pytest.fixture
def month():
    first = last_month()
    start, end = month_bounds(first)
    return first, start, end


@pytest.fixture
def scenario(people, world, month):
    """Cases around last month, each set up to test one rule of the bulletin."""
    _, start, end = month
    now = timezone.now()
    after = end + (now - end) / 2  # this month, before now

    def d(days: float, hours: int = 10) -> datetime:
        return start + timedelta(days=days, hours=hours)

    specs = [
        Spec("A", "grid_a1", "a", d(1), d(9), "resolved", resolved=d(4)),  # in time
        Spec("B", "grid_a1", "a", d(2), d(7), "closed", resolved=d(11)),  # four days late
        Spec("C", "grid_a2", "a", d(3), d(5), "in_progress"),  # open and overdue at month end
        Spec("D", "grid_b1", "b", d(0, 1), end + 5 * DAY, "in_progress"),  # open, in time
        Spec("E", "grid_b1", "b", start - 10 * DAY, d(-2), "rated", resolved=d(1)),  # earlier intake, late
        Spec("F", "grid_a1", "a", d(5), d(8), "rejected"),  # refused: counts nowhere
        Spec("G", "grid_a1", "a", after, after + DAY, "registered"),  # next month
        Spec("H", "grid_a2", "a", d(6), d(8), "resolved", resolved=after),  # resolved after month end
        Spec("I", "grid_a1", "a", start - 20 * DAY, d(-5), "assigned"),  # old backlog, overdue
        Spec("K", "grid_a2", "a", d(2), end + 10 * DAY, "reopened", resolved=d(3), reopened=d(9)),
        Spec("L", "grid_b1", "b", d(10), None, "resolved", resolved=d(10, 12)),  # no deadline
    ]
    cases = {}
    for s in specs:
        cases[s.name] = case_in(
            people,
            getattr(world, s.grid),
            created_at=s.created,
            resolve_due_at=s.due,
            state=s.state,
            resolved_at=s.resolved,
            reopened_at=s.reopened,
        )
    return specs, cases, end


def expected(specs: list[Spec], start: datetime, end: datetime) -> tuple[Figures, list[tuple[str, int]]]:
    """The bulletin's definitions, applied straight to the specs."""
    open_states = {"registered", "accepted", "triaged", "assigned", "in_progress", "escalated", "returned", "reopened"}

    def open_at_end(s: Spec) -> bool:
        if s.created >= end or s.state == "rejected":
            return False
        if s.resolved is None:
            return s.state in open_states
        return s.resolved >= end or (s.reopened is not None and s.resolved < s.reopened < end)

    received = [s for s in specs if start <= s.created < end and s.state != "rejected"]
    resolved = [s for s in specs if s.resolved and start <= s.resolved < end]
    late = []
    for s in specs:
        if s.due is None:
            continue
        if open_at_end(s) and s.due < end:
            late.append((s.name, math.ceil((end - s.due) / DAY)))
        elif s.resolved and start <= s.resolved < end and s.resolved > s.due:
            late.append((s.name, math.ceil((s.resolved - s.due) / DAY)))
    late.sort(key=lambda x: -x[1])
    figures = Figures(
        received=len(received),
        received_resolved=sum(1 for s in received if s.resolved and s.resolved < end and not open_at_end(s)),
        resolved=len(resolved),
        resolved_on_time=sum(1 for s in resolved if s.due is None or s.resolved <= s.due),
        overdue=len(late),
    )
    return figures, late


def test_it_computes_the_figures_of_the_month(world, scenario, month):
    specs, cases, end = scenario
    first, start, _ = month
    data = bulletin_data(unit=world.district, month=first)
    figures, late = expected(specs, start, end)
    assert data.totals == figures
    # The same, counted by hand, so a shared misreading of the rules would show.
    assert figures == Figures(received=7, received_resolved=3, resolved=5, resolved_on_time=3, overdue=5)
    assert data.totals.completion_rate == 3 / 7 and data.totals.on_time_rate == 3 / 5
    assert [(cases[n].tracking_code, days) for n, days in late] == [
        (r.tracking_code, r.days_overdue) for r in data.overdue
    ]
    n = (end - start).days
    assert [(r.tracking_code, r.days_overdue, r.status) for r in data.overdue] == [
        (cases["I"].tracking_code, n + 5, "未办结"),
        (cases["C"].tracking_code, n - 5, "未办结"),
        (cases["H"].tracking_code, n - 8, "未办结"),
        (cases["B"].tracking_code, 4, "超期办结"),
        (cases["E"].tracking_code, 3, "超期办结"),
    ]
    assert data.overdue[0].owner == "深井社区"


def test_it_breaks_the_figures_down_per_child_unit(world, scenario, month):
    specs, _, end = scenario
    first, start, _ = month
    data = bulletin_data(unit=world.district, month=first)
    assert [c.name for c in data.children] == ["长洲街", "云埔街"]  # streets, not departments
    assert data.child_level == "街道/镇"
    for child, street in zip(data.children, ("a", "b"), strict=True):
        assert child.figures == expected([s for s in specs if s.street == street], start, end)[0]
    assert data.children[1].figures == Figures(
        received=2, received_resolved=1, resolved=2, resolved_on_time=1, overdue=1
    )

    street = bulletin_data(unit=world.street_a, month=first)
    assert street.totals == data.children[0].figures
    assert [c.name for c in street.children] == ["深井社区"]
    assert street.title == f"长洲街社会治理月度通报 {first.year}年{first.month}月"


@pytest.fixture
def orders(people, world, scenario, month):
    _, cases, _ = scenario
    _, start, _ = month
    answered = issue(people, world.community_a, [cases["C"]])
    svc.order_respond(order=answered, actor=people.community, version=1, response="已约见当事人，正在调解")
    escalated = issue(people, world.community_a, [cases["I"]], kind="reminder")
    other = issue(people, world.community_b, [cases["D"]])
    this_month = issue(people, world.community_a, [cases["C"]], kind="verification")
    for order, at in ((answered, start + 9 * DAY), (escalated, start + 11 * DAY), (other, start + 14 * DAY)):
        SupervisionOrder.objects.filter(pk=order.pk).update(issued_at=at, deadline=at + 3 * DAY)
    SupervisionOrder.objects.filter(pk=escalated.pk).update(state="escalated", escalated_at=start + 15 * DAY)
    return answered, escalated, other, this_month


def test_it_lists_the_supervision_orders_of_the_month(world, orders, month):
    answered, escalated, other, _ = orders
    first, _, _ = month
    data = bulletin_data(unit=world.district, month=first)
    assert [r.code for r in data.orders] == [answered.code, escalated.code, other.code]
    assert data.orders[0].response == "已约见当事人，正在调解" and data.orders[0].state_label == "已反馈"
    assert data.orders[1].escalated and data.orders[1].kind_label == "催办"
    summary = data.order_summary
    assert (summary.issued, summary.responded, summary.closed, summary.escalated, summary.open) == (3, 1, 0, 1, 2)
    street = bulletin_data(unit=world.street_a, month=first)
    assert [r.code for r in street.orders] == [answered.code, escalated.code]


def test_it_refuses_a_malformed_or_future_month():
    for bad in ("2026-13", "2026/11", "26-11", "", "1999-12"):
        with pytest.raises(Exception) as caught:
            parse_month(bad)
        assert getattr(caught.value, "field", None) == "month"
    future = timezone.localdate().replace(day=1) + 40 * DAY
    with pytest.raises(Exception) as caught:
        parse_month(f"{future.year}-{future.month:02d}")
    assert caught.value.field == "month"
    assert parse_month(f"{last_month():%Y-%m}") == last_month()


# --- files ----------------------------------------------------------------------------


def _literals(stream: bytes) -> list[bytes]:
    """The literal strings `( … )` of a PDF content stream, escapes undone."""
    out, i, n = [], 0, len(stream)
    escapes = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("f"): b"\f"}
    while i < n:
        if stream[i] != ord("("):
            i += 1
            continue
        i, depth, buf = i + 1, 1, bytearray()
        while i < n and depth:
            c = stream[i]
            if c == ord("\\"):
                nxt = stream[i + 1]
                if nxt in escapes:
                    buf += escapes[nxt]
                    i += 2
                elif 48 <= nxt <= 55:
                    digits = re.match(rb"[0-7]{1,3}", stream[i + 1 : i + 4]).group()
                    buf.append(int(digits, 8))
                    i += 1 + len(digits)
                else:
                    buf.append(nxt)
                    i += 2
                continue
            depth += c == ord("(")
            depth -= c == ord(")")
            if depth:
                buf.append(c)
            i += 1
        out.append(bytes(buf))
    return out


def pdf_text(pdf: bytes) -> str:
    """Text drawn in the CJK font (UTF-16BE strings), in drawing order."""
    text = []
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        raw = match.group(1).strip()
        if raw.endswith(b"~>"):
            raw = base64.a85decode(raw, adobe=True)  # ReportLab's default stream encoding
        try:
            raw = zlib.decompress(raw)
        except zlib.error:
            continue
        for literal in _literals(raw):
            if len(literal) % 2 == 0:
                with contextlib.suppress(UnicodeDecodeError):
                    text.append(literal.decode("utf-16-be"))
    return "".join(text)


def pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


def test_it_renders_the_bulletin_as_a_pdf_with_chinese_text(world, scenario, orders, month):
    _, cases, _ = scenario
    first, _, _ = month
    data = bulletin_data(unit=world.district, month=first)
    pdf = bulletin_pdf(data)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    pages = pdf_pages(pdf)
    assert pages >= 1
    text = pdf_text(pdf)
    assert f"黄埔区社会治理月度通报 {first.year}年{first.month}月" in text
    for heading in ("一、总体情况", "二、分街道/镇情况", "三、超期案件清单", "四、督查督办情况"):
        assert heading in text
    assert cases["I"].tracking_code in text and orders[0].code in text
    assert "42.86%" in text and "60.00%" in text  # 3/7 and 3/5
    assert f"第 1 页 / 共 {pages} 页" in text


def test_it_paginates_a_long_overdue_list(people, world, month):
    first, start, _ = month
    for i in range(60):
        case_in(
            people,
            world.grid_a1,
            created_at=start + timedelta(days=1, minutes=i),
            resolve_due_at=start + 2 * DAY,
            state="in_progress",
            title=f"长期未办结事项第{i + 1}号 <b>&amp;",
        )
    data = bulletin_data(unit=world.district, month=first)
    pdf = bulletin_pdf(data)
    pages = pdf_pages(pdf)
    assert pages >= 3
    text = pdf_text(pdf)
    assert f"第 {pages} 页 / 共 {pages} 页" in text and "长期未办结事项第60号 <b>&amp;" in text
    # A printed list stops at the longest-overdue rows and says where the rest are.
    with patch("puan.supervision.bulletin.PDF_OVERDUE_ROWS", 50):
        text = pdf_text(bulletin_pdf(data))
    assert "另有10件详见Excel版“超期清单”" in text and "长期未办结事项第51号" not in text


def test_it_renders_the_bulletin_as_a_workbook(world, scenario, orders, month):
    first, _, _ = month
    data = bulletin_data(unit=world.district, month=first)
    book = load_workbook(io.BytesIO(bulletin_xlsx(data)))
    assert book.sheetnames == ["概况", "分单位", "超期清单", "督办情况"]

    summary = {row[0]: row[1] for row in book["概况"].iter_rows(min_row=6, max_col=2, values_only=True)}
    assert book["概况"]["A1"].value == data.title
    assert summary["受理案件数"] == 7 and summary["其中已办结"] == 3
    assert summary["办结率"] == pytest.approx(3 / 7) and summary["按期办结率"] == pytest.approx(3 / 5)
    assert summary["本月办结案件数"] == 5 and summary["超期案件数"] == 5 and summary["督查督办事项"] == 3
    assert book["概况"]["B8"].number_format == "0.00%"
    assert book["概况"]["A5"].font.bold and book["概况"].column_dimensions["C"].width == 70

    units = {row[0]: row[1:] for row in book["分单位"].iter_rows(min_row=2, values_only=True)}
    assert units["云埔街"] == (2, 1, 0.5, 2, 1, 0.5, 1)
    assert units["合计"][0] == 7

    overdue = list(book["超期清单"].iter_rows(min_row=2, values_only=True))
    assert [r[1] for r in overdue] == [r.tracking_code for r in data.overdue]
    assert overdue[0][0] == 1 and isinstance(overdue[0][4], datetime) and overdue[0][6] == "未办结"

    supervised = list(book["督办情况"].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in supervised] == [r.code for r in data.orders]
    assert supervised[0][8] == "已约见当事人，正在调解"


def test_it_renders_an_empty_month(world):
    data = bulletin_data(unit=world.community_b, month=last_month())
    assert data.totals == Figures() and data.totals.completion_rate is None
    assert "本月无超期案件" in pdf_text(bulletin_pdf(data))
    book = load_workbook(io.BytesIO(bulletin_xlsx(data)))
    summary = {row[0]: row[1] for row in book["概况"].iter_rows(min_row=6, max_col=2, values_only=True)}
    assert summary["办结率"] == "—"


# --- the endpoint ---------------------------------------------------------------------

URL = "/api/v1/reports/bulletin"


def test_it_serves_the_pdf_with_a_chinese_file_name(api, people, world, scenario):
    month = f"{last_month():%Y-%m}"
    response = api.login_as(people.dispatcher).get(URL, {"month": month, "unit": world.district.pk, "format": "pdf"})
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")
    name = f"黄埔区社会治理月度通报{last_month().year}年{last_month().month:02d}月.pdf"
    disposition = response["Content-Disposition"]
    assert disposition.startswith(f'attachment; filename="bulletin-{world.district.pk}-{month}.pdf";')
    assert f"filename*=UTF-8''{quote(name)}" in disposition
    assert "黄埔区社会治理月度通报" in pdf_text(response.content)


def test_it_serves_the_workbook_of_the_callers_own_unit_by_default(api, people, world, scenario):
    response = api.login_as(people.street).get(URL, {"month": f"{last_month():%Y-%m}", "format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    assert book["概况"]["A1"].value.startswith("长洲街社会治理月度通报")
    assert quote("长洲街") in response["Content-Disposition"]


def test_it_lets_a_read_only_leader_download(api, people, world):
    response = api.login_as(people.leader).get(URL, {"month": f"{last_month():%Y-%m}"})
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


@pytest.mark.parametrize(
    ("who", "unit"),
    [
        ("other_street", "street_a"),
        ("community", "street_a"),  # above one's own unit
        ("other_community", "community_a"),
        ("volunteer", "grid_a1"),
        ("police", "justice"),
    ],
)
def test_it_answers_404_for_a_unit_outside_the_callers_scope(api, people, world, who, unit):
    params = {"month": f"{last_month():%Y-%m}", "unit": getattr(world, unit).pk}
    response = api.login_as(getattr(people, who)).get(URL, params)
    assert response.status_code == 404 and response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"month": "2026-13"}, "month"),
        ({"month": "2026/11"}, "month"),
        ({"month": "2999-01"}, "month"),
        ({"month": None}, "month"),
        ({"format": "doc"}, "format"),
    ],
)
def test_it_answers_422_for_a_bad_month_or_format(api, people, world, params, field):
    query = {"month": f"{last_month():%Y-%m}", "format": "pdf", **params}
    response = api.login_as(people.dispatcher).get(URL, {k: v for k, v in query.items() if v is not None})
    assert response.status_code == 422
    assert response.json()["field"] == field


def test_it_asks_for_a_login_and_refuses_other_methods(api, people):
    assert api.get(URL, {"month": f"{last_month():%Y-%m}"}).status_code == 401
    assert api.login_as(people.dispatcher).post(URL, {}).status_code == 405


def test_it_judges_lateness_on_a_clock_that_stood_still(people, world, month):
    first, start, _end = month

    def d(days: int) -> datetime:
        return start + timedelta(days=days, hours=10)

    # Suspended on day 3, before its deadline of day 5; resolved on day 9: on time.
    case_in(
        people,
        world.grid_a1,
        created_at=d(1),
        resolve_due_at=d(5),
        suspended_at=d(3),
        state="resolved",
        resolved_at=d(9),
    )
    # Suspended on day 6, after its deadline of day 4 had passed: open and late.
    late = case_in(people, world.grid_a1, created_at=d(1), resolve_due_at=d(4), suspended_at=d(6), state="in_progress")
    # Suspended on day 7, before its deadline of day 8, and still at the month's end: not late.
    case_in(people, world.grid_a2, created_at=d(2), resolve_due_at=d(8), suspended_at=d(7), state="in_progress")
    data = bulletin_data(unit=world.district, month=first)
    assert [r.tracking_code for r in data.overdue] == [late.tracking_code]
    assert (data.totals.resolved, data.totals.resolved_on_time) == (1, 1)
