"""The acceptance receipt (受理回执) as a PDF: what was taken in, where it goes next, by
when, and how the citizen follows it. ReportLab's built-in CJK font needs no font file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from puan.cases.models import Case
from puan.cases.selectors import case_get_joined
from puan.core.errors import NotVisible
from puan.core.pdf import cjk_font, pdf_escape
from puan.web.http import staff_required

# --- reports that joined an open case -------------------------------------------------

# Tracking code → what a report made in this browser session said. For a report that joined
# an open case somebody else had reported, its reporter's pages and receipt show their own
# report, not the case's title and address, which may name other people. A clerk's report
# that opened a case outside the clerk's own scope (a window takes reports from anywhere) is
# kept too, so that the clerk can still hand on its code and receipt.
JOINED_KEY = "joined_reports"
JOINED_KEPT = 30  # a busy window's morning


@dataclass(frozen=True)
class JoinedReport:
    title: str
    address: str
    reported_at: datetime


def remember_joined(request: HttpRequest, tracking_code: str, *, title: str, address: str, joined: bool = True) -> None:
    """Keep a report made in this session; `joined`: it joined an open case (else it
    opened the case itself)."""
    kept = dict(request.session.get(JOINED_KEY, {}))
    kept.pop(tracking_code, None)
    kept[tracking_code] = {
        "title": title.strip()[:200],
        "address": address.strip()[:300],
        "at": timezone.now().isoformat(),
        "joined": joined,
    }
    request.session[JOINED_KEY] = dict(list(kept.items())[-JOINED_KEPT:])


def joined_report(request: HttpRequest, case: Case) -> JoinedReport | None:
    """The report of this session that joined `case`, if one did."""
    kept = request.session.get(JOINED_KEY, {}).get(case.tracking_code)
    if kept is None or not kept.get("joined", True):
        return None
    return JoinedReport(kept["title"], kept["address"], datetime.fromisoformat(kept["at"]))


def case_of_report(request: HttpRequest, case_id: int, *, joined: bool) -> tuple[Case, JoinedReport | None, bool]:
    """The case a clerk's report went to, for its done page and receipt: (case, the report
    that joined it, whether the clerk may see the case).

    A case the clerk may see comes with their own report when it `joined` the case; one
    outside their scope only when their report, made in this session, joined or opened
    it; any other is a 404."""
    from puan.cases.views import _visible  # the one "visible or 404" of the workbench

    try:
        case = _visible(request.user, case_id)
    except Http404:
        try:
            case = case_get_joined(case_id=case_id, tracking_codes=request.session.get(JOINED_KEY, {}).keys())
        except NotVisible:
            raise Http404("案件不存在或无权查看。") from None
        return case, joined_report(request, case), False
    return case, joined_report(request, case) if joined else None, True


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y年%m月%d日 %H:%M") if value else "—"


def receipt_pdf(case: Case, *, follow_url: str, clerk: str = "", joined: JoinedReport | None = None) -> bytes:
    """The receipt of a report: the case's own, or, for a report that `joined` an open
    case, that report's title, address and time with the case's code, unit and deadline."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
    from reportlab.platypus.flowables import HRFlowable

    font = cjk_font()
    # CJK line breaking: Chinese text has no spaces to break at.
    body = ParagraphStyle("body", fontName=font, fontSize=11, leading=17, wordWrap="CJK")
    small = ParagraphStyle("small", parent=body, fontSize=9, leading=13, textColor=colors.HexColor("#52606d"))
    title = ParagraphStyle("title", parent=body, fontSize=20, leading=28, alignment=TA_CENTER)
    subtitle = ParagraphStyle("subtitle", parent=body, fontSize=12, alignment=TA_CENTER)
    code = ParagraphStyle("code", parent=body, fontSize=18, leading=24, textColor=colors.HexColor("#b42318"))

    place = " ".join(
        p
        for p in (
            case.street and case.street.name,
            case.community and case.community.name,
            case.grid and case.grid.name,
        )
        if p
    )
    reported = joined or JoinedReport(case.title, case.address, case.created_at)
    rows = [
        ("查询码", Paragraph(case.tracking_code, code)),
        ("反映事项", Paragraph(pdf_escape(reported.title), body)),
        ("事项分类", Paragraph(pdf_escape(f"{case.category.group.name} / {case.category.name}"), body)),
        *([] if joined else [("受理渠道", Paragraph(case.get_channel_display(), body))]),
        ("登记时间", Paragraph(_when(reported.reported_at), body)),
        (
            "事发地点",
            Paragraph(pdf_escape(" ".join(p for p in (reported.address, place and f"（{place}）") if p) or "—"), body),
        ),
        *(
            [("合并办理", Paragraph("此前已有人反映同一事项，本次反映已并入该工单一并办理，查询码沿用原工单。", body))]
            if joined
            else []
        ),
        ("责任单位", Paragraph(pdf_escape(case.owner_unit.name), body)),
        ("办结时限", Paragraph(_when(case.resolve_due_at), body)),
    ]
    table = Table([[Paragraph(k, body), v] for k, v in rows], colWidths=[30 * mm, 140 * mm], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#9aa5b1")),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f5f7fa")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        )
    )
    if case.handled_on_spot:
        next_steps = "本事项已由网格员现场处置完毕，将由上级核查后请您评价。"
    else:
        next_steps = (
            f"本事项已登记，由{pdf_escape(case.owner_unit.name)}按“{case.get_lane_display()}”"
            f"（{case.get_tier_display()}）办理，"
            f"将于 {_when(case.respond_due_at)} 前受理响应，于 {_when(case.resolve_due_at)} 前办结。"
            "办理中如需补充情况，工作人员将与您联系；同一事项请勿重复反映，重复反映将合并办理。"
        )
    follow = (
        f"请访问 {pdf_escape(follow_url)} ，选择“查询进度”，输入查询码 {case.tracking_code} 查看办理进度。"
        "办结并经核查后，您可凭查询码和反映时留下的手机号码在线评价办理结果；不满意的，案件将重新办理。"
    )
    story = [
        Paragraph("埔安社会治理综合平台", subtitle),
        Spacer(1, 3 * mm),
        Paragraph("受理回执", title),
        Spacer(1, 6 * mm),
        table,
        Spacer(1, 6 * mm),
        Paragraph("后续办理", ParagraphStyle("h", parent=body, fontSize=13, leading=20)),
        Paragraph(next_steps, body),
        Spacer(1, 4 * mm),
        Paragraph("如何查询与评价", ParagraphStyle("h2", parent=body, fontSize=13, leading=20)),
        Paragraph(follow, body),
        Spacer(1, 10 * mm),
        HRFlowable(width="100%", color=colors.HexColor("#d9e2ec")),
        Paragraph(
            f"打印时间：{_when(timezone.now())}"
            + (f"　受理人：{pdf_escape(clerk)}" if clerk else "")
            + "　本回执由系统生成，请妥善保管查询码。",
            small,
        ),
    ]
    buffer = BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"受理回执 {case.tracking_code}",
        author="埔安社会治理综合平台",
    )
    doc.build(story)
    return buffer.getvalue()


def pdf_response(case: Case, data: bytes) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{case.tracking_code}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


def follow_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/public/")


@require_GET
@staff_required
def case_receipt(request: HttpRequest, case_id: int) -> HttpResponse:
    # The receipt of a report that joined the case (`?joined=1`, from the page that said
    # so) is that report's; a case outside the user's scope has no other receipt for them.
    case, joined, _may_see = case_of_report(request, case_id, joined=request.GET.get("joined") == "1")
    clerk = request.user.display_name or request.user.username
    return pdf_response(case, receipt_pdf(case, follow_url=follow_url(request), clerk=clerk, joined=joined))
