"""Every read behind Open311: services, their definitions, places named by an address,
and service requests as the public may see them.

What leaves through Open311 is decided here, in one place:
- only cases of public categories are listed, plus, for the client that filed it, a case
  that a dispatcher has since moved to an internal category (shown under the service the
  client chose, never under the internal one);
- personal matters and tip-offs (item groups or items in `PUAN_OPEN311_PRIVATE_GROUPS`:
  by default civil affairs, disputes, petitions, labour, political-legal matters, and
  bullying, children out of school, suspects, vice and drug tip-offs, group-incident
  signs, infectious disease and health monitoring) show their status to everyone, but their
  description, place, media and notes only to the client that filed the original report;
- every text that does leave is scrubbed of the case's known personal data (reporter and
  parties: names, phones, ID numbers, e-mail) and of anything shaped like a phone number,
  an ID number or an e-mail address. Reporter data never has a field of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Case as SqlCase
from django.db.models import DateTimeField, Exists, F, OuterRef, Prefetch, Q, QuerySet, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from puan.cases.models import DONE_STATES, Case, CaseEvent, CaseState
from puan.cases.selectors import case_personal_values
from puan.core.errors import InvalidInput, NotVisible
from puan.core.pii import scrub
from puan.core.schema import MAX_ROW_ID
from puan.open311.attributes import Attribute, attributes_for
from puan.open311.formats import positive_int, w3
from puan.open311.models import Open311Request
from puan.org.models import Unit, UnitLevel
from puan.taxonomy.models import Category, Lane

# Open311 knows two statuses. "closed" means the district's handling is finished: resolved
# (办结) and everything after it, or not accepted at all (不予受理). Any other state, including
# a case reopened after an unsatisfied rating, is "open".
CLOSED_STATES = (*DONE_STATES, CaseState.REJECTED)

DEFAULT_WINDOW = timedelta(days=90)
MAX_PAGE_SIZE = 1000


def private_groups() -> set[str]:
    """Codes of item groups and of single items (`PUAN_OPEN311_PRIVATE_GROUPS`)."""
    return set(settings.PUAN_OPEN311_PRIVATE_GROUPS)


def _known_personal_values(case: Case) -> list[str]:
    return case_personal_values(case, extra=[r.email for r in case.open311_requests.all()])


# --- services -------------------------------------------------------------------------


def service_list() -> list[Category]:
    """The public, active categories: what a citizen may report through Open311."""
    return list(
        Category.objects.filter(public=True, is_active=True)
        .select_related("group")
        .order_by("group__sort_order", "group__code", "sort_order", "code")
    )


def service_get(*, code: str) -> tuple[Category, list[Attribute]]:
    category = Category.objects.filter(code=code, public=True, is_active=True).select_related("group").first()
    if category is None:
        raise NotVisible(f"service_code {code!r} 不存在。", field="service_code")
    return category, attributes_for(category)


# --- places ---------------------------------------------------------------------------

_PLACE_LEVELS = {UnitLevel.STREET: 2, UnitLevel.COMMUNITY: 3, UnitLevel.GRID: 4}


def unit_for_address_id(code: str) -> Unit | None:
    """`address_id` is a unit code of the district tree (grid, community or street)."""
    return Unit.objects.defer("boundary").filter(code=code, level__in=list(_PLACE_LEVELS), is_active=True).first()


def unit_for_address(text: str) -> Unit | None:
    """The most specific unit whose name the address contains, or None when there is none
    or two different units fit equally well (a guess would send the case to the wrong
    community). A street also named in the address settles a clash between namesakes."""
    text = (text or "").strip()
    if not text:
        return None
    rows = Unit.objects.filter(level__in=list(_PLACE_LEVELS), is_active=True).values_list("pk", "name", "level", "path")
    hits = [(pk, name, _PLACE_LEVELS[level], path) for pk, name, level, path in rows if len(name) >= 2 and name in text]
    if not hits:
        return None
    best = max((depth, len(name)) for _, name, depth, _ in hits)
    top = [h for h in hits if (h[2], len(h[1])) == best]
    if len(top) > 1:
        others = [path for _, _, depth, path in hits if depth < best[0]]
        top = [h for h in top if any(h[3].startswith(p) for p in others)]
    if len(top) != 1:
        return None
    return Unit.objects.defer("boundary").get(pk=top[0][0])


# --- service requests -----------------------------------------------------------------


@dataclass
class RequestFilters:
    ids: list[int] | None = None
    service_codes: list[str] | None = None
    start: datetime | None = None
    end: datetime | None = None
    statuses: set[str] | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    page: int = 1
    page_size: int = MAX_PAGE_SIZE


def _updated_expression() -> SqlCase:
    """updated_datetime: for a closed request the spec wants the moment it was closed."""
    return SqlCase(
        When(state=CaseState.REJECTED, then=Coalesce("rejected_at", "updated_at")),
        When(state__in=DONE_STATES, then=Coalesce("resolved_at", "updated_at")),
        default=F("updated_at"),
        output_field=DateTimeField(),
    )


def _visible(client) -> QuerySet[Case]:
    cases = Case.objects.annotate(o311_updated=_updated_expression())
    if client is None:
        return cases.filter(category__public=True)
    mine = Open311Request.objects.filter(case=OuterRef("pk"), client=client)
    cases = cases.annotate(own_any=Exists(mine), own_origin=Exists(mine.filter(linked=False)))
    return cases.filter(Q(category__public=True) | Q(own_any=True))


def _with_related(cases: QuerySet[Case]) -> QuerySet[Case]:
    return (
        cases.select_related(
            "category", "category__group", "lead_department", "owner_unit", "grid", "community", "street"
        )
        .defer(
            "lead_department__boundary",
            "owner_unit__boundary",
            "grid__boundary",
            "community__boundary",
            "street__boundary",
        )
        .prefetch_related(
            "parties",
            Prefetch("open311_requests", queryset=Open311Request.objects.order_by("pk")),
            Prefetch(
                "events",
                queryset=CaseEvent.objects.filter(kind__in=["reject", "reopen"]).only(
                    "id", "case_id", "seq", "kind", "note"
                ),
                to_attr="public_events",
            ),
        )
    )


def _window(filters: RequestFilters, now: datetime) -> tuple[datetime | None, datetime | None]:
    """The requested_datetime range: the spec's default of the last 90 days, and never a
    span of more than 90 days. A sync by `updated_after`/`updated_before` alone is not
    narrowed by when the requests were made."""
    start, end = filters.start, filters.end
    if start is None and end is None:
        if filters.updated_after or filters.updated_before:
            return None, None
        return now - DEFAULT_WINDOW, now
    try:
        if start is None:
            start = end - DEFAULT_WINDOW
        elif end is None:
            end = start + DEFAULT_WINDOW
    except OverflowError:
        named = "end_date" if filters.start is None else "start_date"
        raise InvalidInput(f"{named} 超出可处理的日期范围。", field=named) from None
    if end < start:
        raise InvalidInput("end_date 不能早于 start_date。", field="end_date")
    if end - start > DEFAULT_WINDOW:
        raise InvalidInput("start_date 与 end_date 的跨度不能超过 90 天。", field="end_date")
    return start, end


def request_list(*, client, filters: RequestFilters, now: datetime | None = None) -> list[dict]:
    """Service requests as `client` (None: anonymous) may see them, newest first."""
    now = now or timezone.now()
    cases = _visible(client)
    if filters.ids is not None:
        # The spec: a list of ids overrides every other argument.
        cases = cases.filter(pk__in=filters.ids)
    else:
        start, end = _window(filters, now)
        if start is not None:
            cases = cases.filter(created_at__gte=start, created_at__lte=end)
        if filters.service_codes:
            cases = cases.filter(category__code__in=filters.service_codes)
        if filters.statuses and len(filters.statuses) == 1:
            closed = Q(state__in=CLOSED_STATES)
            cases = cases.filter(closed if "closed" in filters.statuses else ~closed)
        if filters.updated_after is not None:
            cases = cases.filter(o311_updated__gte=filters.updated_after)
        if filters.updated_before is not None:
            cases = cases.filter(o311_updated__lte=filters.updated_before)
    offset = (filters.page - 1) * filters.page_size
    page = _with_related(cases.order_by("-created_at", "-pk"))[offset : offset + filters.page_size]
    names: dict[str, str] = {}
    return [request_public(case, names=names) for case in page]


def row_id(raw: str) -> int | None:
    """A service_request_id as the integer it names, within what the database stores."""
    return positive_int(raw, MAX_ROW_ID)


def request_get(*, client, request_id: str) -> dict:
    if row_id(request_id) is None:
        raise NotVisible(f"service_request_id {request_id!r} 不存在。", field="service_request_id")
    case = _with_related(_visible(client)).filter(pk=int(request_id)).first()
    if case is None:
        raise NotVisible(f"service_request_id {request_id} 不存在。", field="service_request_id")
    return request_public(case, names={})


def token_get(*, token: str) -> dict:
    row = Open311Request.objects.filter(token=token).values("case_id", "token").first()
    if row is None:
        raise NotVisible(f"token {token!r} 不存在。", field="token")
    return {"service_request_id": str(row["case_id"]), "token": row["token"]}


def open311_status(state: str) -> str:
    return "closed" if state in CLOSED_STATES else "open"


def _status_note(case: Case) -> str:
    """The public note on the current state: the outcome once resolved, the reason when
    rejected or reopened. Internal notes (comments, escalation instructions) never."""
    if case.state in DONE_STATES:
        return case.outcome
    wanted = {CaseState.REJECTED: "reject", CaseState.REOPENED: "reopen"}.get(case.state)
    notes = [e.note for e in case.public_events if e.kind == wanted and e.note.strip()]
    return notes[-1] if notes else ""


def service_notice(case: Case) -> str | None:
    if case.state in CLOSED_STATES or case.resolve_due_at is None:
        return None
    due = timezone.localtime(case.resolve_due_at)
    return f"{Lane(case.lane).label}：预计 {due:%Y-%m-%d %H:%M} 前办结。"


def _service(case: Case, names: dict[str, str]) -> tuple[str, str]:
    """(code, name) to show: an internal category never leaves, the client's choice does."""
    if case.category.public:
        return case.category.code, case.category.name
    code = next((r.service_code for r in case.open311_requests.all()), "")
    if code not in names:
        names[code] = Category.objects.filter(code=code).values_list("name", flat=True).first() or ""
    return code, names[code]


def _fallback_address(case: Case) -> str:
    return " ".join(u.name for u in (case.grid, case.community, case.street) if u is not None)


def request_public(case: Case, *, names: dict[str, str]) -> dict:
    """One service request in the spec's field order, with only what the public may see."""
    known = _known_personal_values(case)
    private = private_groups()
    restricted = not case.category.public or case.category.group.code in private or case.category.code in private
    detailed = not restricted or getattr(case, "own_origin", False)
    label = CaseState(case.state).label
    note = _status_note(case) if detailed else ""
    code, name = _service(case, names)
    media = next((r.media_url for r in case.open311_requests.all() if r.media_url), "") if detailed else ""
    unit = case.grid or case.community or case.street
    department = case.lead_department or case.owner_unit
    return {
        "service_request_id": str(case.pk),
        "status": open311_status(case.state),
        "status_notes": f"{label}：{scrub(note.strip(), known)}" if note.strip() else label,
        "service_name": name,
        "service_code": code,
        "description": scrub(case.description, known) if detailed else None,
        "agency_responsible": department.name if department else None,
        "service_notice": service_notice(case),
        "requested_datetime": w3(case.created_at),
        "updated_datetime": w3(case.o311_updated),
        "expected_datetime": w3(case.resolve_due_at),
        "address": scrub(case.address or _fallback_address(case), known) if detailed else None,
        "address_id": unit.code if detailed and unit is not None else None,
        "zipcode": None,
        "lat": case.lat if detailed else None,
        "long": case.lon if detailed else None,
        "media_url": media or None,
    }
