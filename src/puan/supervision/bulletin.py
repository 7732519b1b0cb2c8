"""The monthly bulletin (月度通报) of a unit: the figures, a breakdown per child unit, the
overdue list and the month's supervision orders — as data, as PDF and as Excel.

Which cases count. A case belongs to a unit when it happened in the unit's subtree
(`area_path`) or a unit of that subtree owns it (`owner_path`); for a department, when
the department leads it. The month runs from local midnight on its first day to local
midnight on the first day of the next month (`PUAN_TIME_ZONE`). The cut-off is the end
of the month, or the present for the month in progress.

The figures (all over the cases that belong to the unit):
- received (受理数): cases registered in the month, except those refused (不予受理);
- received_resolved (其中已办结): of those, cases resolved before the cut-off and not
  reopened (still open) at the cut-off;
- completion rate (办结率) = received_resolved / received — the share of the month's
  intake that has been resolved, so never above 100%; undefined (—) with no intake;
- resolved (本月办结数): cases resolved in the month, whenever they were received;
- resolved_on_time (其中按期办结): of those, cases resolved on or before their resolution
  deadline (`resolve_due_at`; a case without a deadline is on time);
- on-time rate (按期办结率) = resolved_on_time / resolved; undefined (—) when none resolved;
- overdue (超期数): rows of the overdue list, which holds (a) cases open at the cut-off
  whose deadline had passed by then, days overdue counted to the cut-off, and (b) cases
  resolved in the month after their deadline, days overdue counted to the resolution.
  A case is in the list once; if both apply, as (a).
Days overdue are whole days, rounded up: one hour late is one day.

Whether a case was open at a past cut-off is reconstructed from its latest timestamps
(`resolved_at`, `reopened_at`) and its current deadline, so a later reopening or deadline
change can move last month's figures slightly; the bulletin says when it was generated.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from puan.cases.models import OPEN_STATES, Case, CaseState, deadline_passed
from puan.core.errors import InvalidInput
from puan.core.pdf import CJK_FONT, cjk_font, pdf_escape
from puan.org.models import LEVEL_DEPTH, Unit, UnitLevel, subtree_q
from puan.supervision.models import OPEN_ORDER_STATES, OrderKind, OrderState, SupervisionOrder

# A printed bulletin lists the longest-overdue cases; the workbook always has them all.
PDF_OVERDUE_ROWS = 300
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
DAY = timedelta(days=1)


# --- months ---------------------------------------------------------------------------


def parse_month(value: str, *, now: datetime | None = None) -> date:
    """ "2026-11" → date(2026, 11, 1); a malformed or future month is a 422 on `month`."""
    match = _MONTH_RE.match((value or "").strip())
    if not match:
        raise InvalidInput("月份格式应为 YYYY-MM，例如 2026-11。", field="month")
    year, month = int(match.group(1)), int(match.group(2))
    if not (1 <= month <= 12) or not (2000 <= year <= 2100):
        raise InvalidInput("月份无效。", field="month")
    first = date(year, month, 1)
    today = timezone.localdate(now or timezone.now())
    if first > today.replace(day=1):
        raise InvalidInput("不能生成未来月份的通报。", field="month")
    return first


def month_bounds(first: date) -> tuple[datetime, datetime]:
    """Local midnight on the first of the month, and on the first of the next."""
    nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    tz = timezone.get_current_timezone()
    return (
        timezone.make_aware(datetime(first.year, first.month, 1), tz),
        timezone.make_aware(datetime(nxt.year, nxt.month, 1), tz),
    )


# --- the data -------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    received: int = 0
    received_resolved: int = 0
    resolved: int = 0
    resolved_on_time: int = 0
    overdue: int = 0

    @property
    def completion_rate(self) -> float | None:
        return self.received_resolved / self.received if self.received else None

    @property
    def on_time_rate(self) -> float | None:
        return self.resolved_on_time / self.resolved if self.resolved else None


@dataclass(frozen=True)
class OverdueRow:
    case_id: int
    tracking_code: str
    title: str
    owner: str
    deadline: datetime
    days_overdue: int
    status: str  # 未办结 (open at the cut-off) | 超期办结 (resolved late in the month)
    resolved_at: datetime | None


@dataclass(frozen=True)
class ChildRow:
    unit_id: int
    name: str
    figures: Figures


@dataclass(frozen=True)
class OrderRow:
    order_id: int
    code: str
    kind: str
    kind_label: str
    unit: str
    title: str
    issued_at: datetime
    deadline: datetime | None
    state: str
    state_label: str
    responded_at: datetime | None
    response: str
    escalated: bool


@dataclass(frozen=True)
class OrderSummary:
    issued: int = 0
    responded: int = 0  # answered (responded or closed)
    closed: int = 0
    escalated: int = 0  # escalated to the unit head at some point
    open: int = 0  # still owing a response (issued, acknowledged, escalated)


@dataclass(frozen=True)
class BulletinData:
    unit_id: int
    unit_name: str
    month: date
    start: datetime
    end: datetime
    cutoff: datetime
    generated_at: datetime
    totals: Figures
    children: list[ChildRow] = field(default_factory=list)
    child_level: str = ""
    overdue: list[OverdueRow] = field(default_factory=list)
    orders: list[OrderRow] = field(default_factory=list)
    order_summary: OrderSummary = field(default_factory=OrderSummary)

    @property
    def title(self) -> str:
        return f"{self.unit_name}社会治理月度通报 {self.month.year}年{self.month.month}月"

    @property
    def month_label(self) -> str:
        return f"{self.month.year}年{self.month.month}月"


@dataclass
class _Row:
    """The columns of a case the figures need."""

    pk: int
    tracking_code: str
    title: str
    owner: str
    area_path: str
    owner_path: str
    state: str
    created_at: datetime
    resolved_at: datetime | None
    reopened_at: datetime | None
    resolve_due_at: datetime | None
    suspended_at: datetime | None


def _belongs_q(unit: Unit) -> Q:
    if unit.level == UnitLevel.DEPARTMENT:
        return Q(lead_department=unit)
    return subtree_q(unit.path, "area_path") | subtree_q(unit.path, "owner_path")


def _fetch(unit: Unit, start: datetime, end: datetime, cutoff: datetime) -> list[_Row]:
    """Every case that can count in the month, in one query; the figures are then
    computed in Python from the same rows, so the unit and its children cannot disagree."""
    in_month = Q(created_at__gte=start, created_at__lt=end) | Q(resolved_at__gte=start, resolved_at__lt=end)
    maybe_open_and_late = (
        Q(created_at__lt=cutoff, resolve_due_at__lt=cutoff)
        & ~Q(state=CaseState.REJECTED)
        & (Q(resolved_at__isnull=True) | Q(resolved_at__gte=cutoff) | Q(reopened_at__isnull=False))
    )
    rows = (
        Case.objects.filter(_belongs_q(unit))
        .filter(in_month | maybe_open_and_late)
        .order_by("pk")
        .values_list(
            "pk",
            "tracking_code",
            "title",
            "owner_unit__name",
            "area_path",
            "owner_path",
            "state",
            "created_at",
            "resolved_at",
            "reopened_at",
            "resolve_due_at",
            "suspended_at",
        )
    )
    return [_Row(*r) for r in rows]


def _open_at(row: _Row, cutoff: datetime) -> bool:
    if row.created_at >= cutoff or row.state == CaseState.REJECTED:
        return False
    if row.resolved_at is None:
        return row.state in OPEN_STATES
    if row.resolved_at >= cutoff:
        return True  # resolved only after the cut-off
    # Resolved before the cut-off: open again only if reopened since, before the cut-off.
    return row.reopened_at is not None and row.resolved_at < row.reopened_at < cutoff


def _days_late(reference: datetime, due: datetime) -> int:
    return max(1, math.ceil((reference - due) / DAY))


def _overdue_row(row: _Row, start: datetime, end: datetime, cutoff: datetime) -> OverdueRow | None:
    due = row.resolve_due_at
    if due is None:
        return None
    if _open_at(row, cutoff) and deadline_passed(due, row.suspended_at, cutoff):
        return OverdueRow(row.pk, row.tracking_code, row.title, row.owner, due, _days_late(cutoff, due), "未办结", None)
    resolved = row.resolved_at
    if resolved is not None and start <= resolved < end and deadline_passed(due, row.suspended_at, resolved):
        return OverdueRow(
            row.pk, row.tracking_code, row.title, row.owner, due, _days_late(resolved, due), "超期办结", resolved
        )
    return None


def _figures(rows: list[_Row], start: datetime, end: datetime, cutoff: datetime) -> tuple[Figures, list[OverdueRow]]:
    received = received_resolved = resolved = on_time = 0
    overdue: list[OverdueRow] = []
    for row in rows:
        if start <= row.created_at < end and row.state != CaseState.REJECTED:
            received += 1
            if row.resolved_at is not None and row.resolved_at < cutoff and not _open_at(row, cutoff):
                received_resolved += 1
        if row.resolved_at is not None and start <= row.resolved_at < end:
            resolved += 1
            if not deadline_passed(row.resolve_due_at, row.suspended_at, row.resolved_at):
                on_time += 1
        late = _overdue_row(row, start, end, cutoff)
        if late is not None:
            overdue.append(late)
    overdue.sort(key=lambda r: (-r.days_overdue, r.deadline, r.case_id))
    return Figures(received, received_resolved, resolved, on_time, len(overdue)), overdue


def _children(unit: Unit) -> list[Unit]:
    """The next administrative level down (streets of the district, communities of a
    street, grids of a community); departments have none."""
    if unit.level not in LEVEL_DEPTH:
        return []
    levels = [lvl for lvl, depth in LEVEL_DEPTH.items() if depth == LEVEL_DEPTH[unit.level] + 1]
    return list(
        Unit.objects.defer("boundary")
        .filter(parent=unit, level__in=levels, is_active=True)
        .order_by("sort_order", "path")
    )


def _orders(unit: Unit, start: datetime, end: datetime) -> tuple[list[OrderRow], OrderSummary]:
    orders = SupervisionOrder.objects.filter(issued_at__gte=start, issued_at__lt=end)
    if unit.level == UnitLevel.DEPARTMENT:
        orders = orders.filter(unit=unit)
    else:
        orders = orders.filter(subtree_q(unit.path, "unit__path"))
    rows = [
        OrderRow(
            order_id=o.pk,
            code=o.code,
            kind=o.kind,
            kind_label=OrderKind(o.kind).label,
            unit=o.unit.name,
            title=o.title,
            issued_at=o.issued_at,
            deadline=o.deadline,
            state=o.state,
            state_label=OrderState(o.state).label,
            responded_at=o.responded_at,
            response=o.response,
            escalated=o.escalated_at is not None,
        )
        for o in orders.select_related("unit").order_by("issued_at", "pk")
    ]
    summary = OrderSummary(
        issued=len(rows),
        responded=sum(r.state in (OrderState.RESPONDED, OrderState.CLOSED) for r in rows),
        closed=sum(r.state == OrderState.CLOSED for r in rows),
        escalated=sum(r.escalated for r in rows),
        open=sum(r.state in OPEN_ORDER_STATES for r in rows),
    )
    return rows, summary


def bulletin_data(*, unit: Unit, month: date | str, now: datetime | None = None) -> BulletinData:
    """The figures of `unit` for `month` (a date in the month, or "YYYY-MM"); see the
    module docstring for exactly what each figure counts."""
    now = now or timezone.now()
    first = parse_month(month, now=now) if isinstance(month, str) else month.replace(day=1)
    start, end = month_bounds(first)
    cutoff = min(end, now)
    rows = _fetch(unit, start, end, cutoff)
    totals, overdue = _figures(rows, start, end, cutoff)
    children = []
    child_units = _children(unit)
    for child in child_units:
        mine = [r for r in rows if r.area_path.startswith(child.path) or r.owner_path.startswith(child.path)]
        children.append(ChildRow(child.pk, child.name, _figures(mine, start, end, cutoff)[0]))
    orders, summary = _orders(unit, start, end)
    return BulletinData(
        unit_id=unit.pk,
        unit_name=unit.name,
        month=first,
        start=start,
        end=end,
        cutoff=cutoff,
        generated_at=now,
        totals=totals,
        children=children,
        child_level=UnitLevel(child_units[0].level).label if child_units else "",
        overdue=overdue,
        orders=orders,
        order_summary=summary,
    )


def bulletin_filename(data: BulletinData, extension: str) -> str:
    return f"{data.unit_name}社会治理月度通报{data.month.year}年{data.month.month:02d}月.{extension}"


# --- shared formatting ----------------------------------------------------------------


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.2f}%"


def local_text(at: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return timezone.localtime(at).strftime(fmt) if at is not None else "—"


def _summary_lines(data: BulletinData) -> list[tuple[str, str]]:
    t, o = data.totals, data.order_summary
    return [
        ("受理案件数", str(t.received)),
        ("其中已办结", str(t.received_resolved)),
        ("办结率", percent(t.completion_rate)),
        ("本月办结案件数", str(t.resolved)),
        ("其中按期办结", str(t.resolved_on_time)),
        ("按期办结率", percent(t.on_time_rate)),
        ("超期案件数", str(t.overdue)),
        ("督查督办事项", str(o.issued)),
        ("已反馈", str(o.responded)),
        ("已办结", str(o.closed)),
        ("超期升级", str(o.escalated)),
        ("待反馈", str(o.open)),
    ]


CHILD_HEADERS = ["单位", "受理数", "其中已办结", "办结率", "本月办结", "其中按期", "按期办结率", "超期数"]
OVERDUE_HEADERS = ["序号", "查询码", "标题", "责任单位", "办结时限", "超期天数", "状态"]
ORDER_HEADERS = ["文号", "类型", "受文单位", "标题", "下发时间", "办理时限", "状态", "反馈时间", "反馈内容"]


# --- PDF ------------------------------------------------------------------------------


def bulletin_pdf(data: BulletinData) -> bytes:
    """A4 portrait, ReportLab's built-in Adobe CJK font (no font files to ship), tables,
    "第 x 页 / 共 y 页" on every page."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas as rl_canvas
    from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    cjk_font()
    base = ParagraphStyle("base", fontName=CJK_FONT, fontSize=9, leading=12, wordWrap="CJK")
    styles = {
        "title": ParagraphStyle("title", parent=base, fontSize=18, leading=24, alignment=TA_CENTER, spaceAfter=4),
        "sub": ParagraphStyle("sub", parent=base, fontSize=10, leading=14, alignment=TA_CENTER, textColor="#555555"),
        "h2": ParagraphStyle("h2", parent=base, fontSize=13, leading=18, spaceBefore=10, spaceAfter=6),
        "cell": base,
        "head": ParagraphStyle("head", parent=base, textColor=colors.white, alignment=TA_CENTER),
        "note": ParagraphStyle("note", parent=base, fontSize=8, leading=11, textColor="#555555"),
    }
    header_bg = colors.HexColor("#1f4e79")

    def table(headers: list[str], rows: list[list[str]], widths: list[float]) -> Table:
        body = [[Paragraph(h, styles["head"]) for h in headers]]
        body += [[Paragraph(pdf_escape(c), styles["cell"]) for c in row] for row in rows]
        t = LongTable(body, colWidths=[w * mm for w in widths], repeatRows=1)
        t.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, 0), header_bg),
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa5b1")),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f2f5f9")]),
                    ("TOPPADDING", (0, 0), (-1, -1), 3),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                ]
            )
        )
        return t

    story: list = [
        Paragraph(pdf_escape(data.title), styles["title"]),
        Paragraph(
            pdf_escape(
                f"统计期间：{local_text(data.start, '%Y-%m-%d')} 至 {local_text(data.end - DAY, '%Y-%m-%d')}"
                f"　　生成时间：{local_text(data.generated_at)}"
            ),
            styles["sub"],
        ),
        Spacer(1, 6 * mm),
        Paragraph("一、总体情况", styles["h2"]),
    ]
    lines = _summary_lines(data)
    pairs = [lines[i : i + 2] for i in range(0, len(lines), 2)]
    summary_rows = [[a[0], a[1], b[0], b[1]] for a, b in pairs]
    story.append(table(["指标", "数值", "指标", "数值"], summary_rows, [50, 35, 50, 35]))
    story.append(
        Paragraph(
            "办结率＝本月受理案件中截至月末已办结的件数÷本月受理件数；按期办结率＝本月办结案件中在办结时限内办结的件数÷本月办结件数。",
            styles["note"],
        )
    )

    if data.children:
        story.append(Paragraph(f"二、分{data.child_level}情况", styles["h2"]))
        story.append(table(CHILD_HEADERS, [_child_cells(c.name, c.figures) for c in data.children], [34] + [19.5] * 7))
    else:
        story.append(Paragraph("二、分单位情况", styles["h2"]))
        story.append(Paragraph("本单位无下级单位。", styles["cell"]))

    story.append(Paragraph("三、超期案件清单", styles["h2"]))
    if data.overdue:
        cells = _overdue_cells(data)
        story.append(table(OVERDUE_HEADERS, cells[:PDF_OVERDUE_ROWS], [10, 28, 52, 28, 28, 16, 18]))
        if len(cells) > PDF_OVERDUE_ROWS:
            rest = len(cells) - PDF_OVERDUE_ROWS
            story.append(
                Paragraph(f"以上为超期最久的{PDF_OVERDUE_ROWS}件，另有{rest}件详见Excel版“超期清单”。", styles["note"])
            )
    else:
        story.append(Paragraph("本月无超期案件。", styles["cell"]))

    story.append(Paragraph("四、督查督办情况", styles["h2"]))
    if data.orders:
        cells = [[r[0], r[1], r[2], r[3], r[4][:10], r[5][:10], r[6], r[8]] for r in _order_cells(data)]
        headers = [h for h in ORDER_HEADERS if h != "反馈时间"]
        story.append(table(headers, cells, [24, 11, 22, 36, 19, 19, 16, 33]))
    else:
        story.append(Paragraph("本月未下发督查督办事项。", styles["cell"]))

    class NumberedCanvas(rl_canvas.Canvas):
        """Defers each page until the end so every footer can say how many pages there are."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self.setFont(CJK_FONT, 8)
                self.setFillColor(colors.HexColor("#555555"))
                self.drawCentredString(A4[0] / 2, 10 * mm, f"第 {self._pageNumber} 页 / 共 {total} 页")
                self.drawString(18 * mm, A4[1] - 10 * mm, data.title)
                super().showPage()
            super().save()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=data.title,
        author="埔安社会治理综合平台",
        subject=f"{data.unit_name} {data.month_label}",
    )
    doc.build(story, canvasmaker=NumberedCanvas)
    return buffer.getvalue()


def _child_cells(name: str, f: Figures) -> list[str]:
    return [
        name,
        str(f.received),
        str(f.received_resolved),
        percent(f.completion_rate),
        str(f.resolved),
        str(f.resolved_on_time),
        percent(f.on_time_rate),
        str(f.overdue),
    ]


def _overdue_cells(data: BulletinData) -> list[list[str]]:
    return [
        [str(i), r.tracking_code, r.title, r.owner, local_text(r.deadline), str(r.days_overdue), r.status]
        for i, r in enumerate(data.overdue, 1)
    ]


def _order_cells(data: BulletinData) -> list[list[str]]:
    return [
        [
            r.code,
            r.kind_label,
            r.unit,
            r.title,
            local_text(r.issued_at),
            local_text(r.deadline),
            r.state_label,
            local_text(r.responded_at),
            r.response or "—",
        ]
        for r in data.orders
    ]


# --- Excel ----------------------------------------------------------------------------


def _naive(at: datetime | None) -> datetime | None:
    # Excel has no time zones: write local wall-clock time.
    return timezone.localtime(at).replace(tzinfo=None) if at is not None else None


def bulletin_xlsx(data: BulletinData) -> bytes:
    """Four sheets — 概况, 分单位, 超期清单, 督办情况 — with styled headers, fixed widths and
    real numbers (rates as percentages, times as Excel dates) so the figures can be reused."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    thin = Side(style="thin", color="9AA5B1")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    head_font = Font(bold=True, color="FFFFFF")
    head_fill = PatternFill("solid", fgColor="1F4E79")
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    wrap = Alignment(vertical="top", wrap_text=True)
    pct, when = "0.00%", "yyyy-mm-dd hh:mm"

    def header(ws, row: int, headers: list[str], widths: list[float]) -> None:
        for col, (text, width) in enumerate(zip(headers, widths, strict=True), 1):
            cell = ws.cell(row=row, column=col, value=text)
            cell.font, cell.fill, cell.alignment, cell.border = head_font, head_fill, centre, border
            ws.column_dimensions[get_column_letter(col)].width = width
        ws.freeze_panes = ws.cell(row=row + 1, column=1)

    def put(ws, row: int, values: list, formats: dict[int, str] | None = None) -> None:
        for col, value in enumerate(values, 1):
            cell = ws.cell(row=row, column=col, value="—" if value is None else value)
            cell.border, cell.alignment = border, wrap
            if formats and col in formats and value is not None:
                cell.number_format = formats[col]

    # 概况
    ws = wb.active
    ws.title = "概况"
    ws["A1"] = data.title
    ws["A1"].font = Font(bold=True, size=14)
    ws.merge_cells("A1:C1")
    ws["A2"] = f"统计期间：{local_text(data.start, '%Y-%m-%d')} 至 {local_text(data.end - DAY, '%Y-%m-%d')}"
    ws["A3"] = f"生成时间：{local_text(data.generated_at)}"
    header(ws, 5, ["指标", "数值", "口径"], [22, 14, 70])
    t, o = data.totals, data.order_summary
    summary = [
        ("受理案件数", t.received, "本月登记的案件（不含不予受理）", None),
        ("其中已办结", t.received_resolved, "本月受理案件中截至月末已办结的件数", None),
        ("办结率", t.completion_rate, "其中已办结 ÷ 受理案件数", pct),
        ("本月办结案件数", t.resolved, "办结时间在本月的案件（不论何时受理）", None),
        ("其中按期办结", t.resolved_on_time, "在办结时限内办结的件数", None),
        ("按期办结率", t.on_time_rate, "其中按期办结 ÷ 本月办结案件数", pct),
        ("超期案件数", t.overdue, "月末仍未办结且已超期，或本月超期办结", None),
        ("督查督办事项", o.issued, "本月下发给本单位及下级单位的督查督办", None),
        ("已反馈", o.responded, "", None),
        ("已办结", o.closed, "", None),
        ("超期升级", o.escalated, "超过办理时限未反馈、已提请单位负责人", None),
        ("待反馈", o.open, "", None),
    ]
    for i, (label, value, note, fmt) in enumerate(summary, 6):
        put(ws, i, [label, value, note], {2: fmt} if fmt else None)

    # 分单位
    ws = wb.create_sheet("分单位")
    header(ws, 1, CHILD_HEADERS, [24, 10, 12, 10, 12, 10, 12, 10])
    child_rows = [*((c.name, c.figures) for c in data.children), ("合计", data.totals)]
    for i, (name, f) in enumerate(child_rows, 2):
        put(
            ws,
            i,
            [
                name,
                f.received,
                f.received_resolved,
                f.completion_rate,
                f.resolved,
                f.resolved_on_time,
                f.on_time_rate,
                f.overdue,
            ],
            {4: pct, 7: pct},
        )
    ws.cell(row=len(child_rows) + 1, column=1).font = Font(bold=True)

    # 超期清单
    ws = wb.create_sheet("超期清单")
    header(ws, 1, OVERDUE_HEADERS, [6, 16, 40, 18, 18, 10, 10])
    for i, r in enumerate(data.overdue, 2):
        put(
            ws,
            i,
            [i - 1, r.tracking_code, r.title, r.owner, _naive(r.deadline), r.days_overdue, r.status],
            {5: when},
        )

    # 督办情况
    ws = wb.create_sheet("督办情况")
    header(ws, 1, ORDER_HEADERS, [14, 8, 18, 34, 18, 18, 12, 18, 50])
    for i, r in enumerate(data.orders, 2):
        put(
            ws,
            i,
            [
                r.code,
                r.kind_label,
                r.unit,
                r.title,
                _naive(r.issued_at),
                _naive(r.deadline),
                r.state_label,
                _naive(r.responded_at),
                r.response or None,
            ],
            {5: when, 6: when, 8: when},
        )

    buffer = io.BytesIO()
    wb.properties.title = data.title
    wb.properties.creator = "埔安社会治理综合平台"
    wb.save(buffer)
    return buffer.getvalue()
