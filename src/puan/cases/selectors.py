"""Reads of cases, already scoped to the user asking. The API and the pages call these."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case as SqlCase
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When

from puan.accounts.scope import DataScope, scope_for
from puan.cases.models import OPEN_STATES, AssistStatus, AssistTask, Case, CaseState, Risk
from puan.core.errors import InvalidInput, NotVisible
from puan.core.statements import OneRowSelect
from puan.org.models import LEVEL_DEPTH, PATH_SEGMENT_WIDTH, Unit, UnitLevel, subtree_q
from puan.org.selectors import area_units
from puan.taxonomy.models import Category
from puan.taxonomy.selectors import category_by_pk


def _visible_q(scope: DataScope) -> Q:
    """Unit-wide scopes see cases that happened in their area or that their unit owns
    now; departments see cases they lead or assist; everyone sees what they reported."""
    q = scope.q(path="area_path", department="lead_department_id", owner="reporter_id")
    if scope.unit_paths:
        q |= scope.q(path="owner_path")
    if scope.department_ids:
        q |= Q(Exists(AssistTask.objects.filter(case=OuterRef("pk"), department_id__in=sorted(scope.department_ids))))
    return q


def case_list_visible_to(*, user) -> QuerySet[Case]:
    return Case.objects.filter(_visible_q(scope_for(user)))


# The units a case names. Their outlines stay in the database except the grid's, which the
# case page draws: a district's or street's boundary is a large JSON document.
CASE_UNITS = ("owner_unit", "lead_department", "grid", "community", "street")
CASE_UNIT_OUTLINES = tuple(f"{unit}__boundary" for unit in CASE_UNITS if unit != "grid")


def case_get_visible(*, user, case_id: int) -> Case:
    cases = (
        case_list_visible_to(user=user)
        .select_related("category", "category__group", *CASE_UNITS)
        .defer(*CASE_UNIT_OUTLINES)
    )
    case = cases.filter(pk=case_id).first()
    if case is None:
        raise NotVisible("案件不存在或无权查看。")
    return case


_case_row = OneRowSelect(Case)


def case_with_units(case_id: int, *, for_update: bool = False, category: Category | None = None) -> Case:
    """A case with its category and units (no outlines), unscoped: for the answer to a
    write the caller was allowed to make. `for_update` locks the case's row (only).

    The row is read alone; the district, street and community come from the process's
    copy of the units above the grids, the category from `category` when the caller holds
    it or from the process's copy, and only the rest (the grid, a department) from the
    database."""
    case = _case_row.get(case_id, for_update=for_update)
    if case is None:
        raise Case.DoesNotExist(f"case {case_id}")
    if category is None or category.pk != case.category_id:
        category = category_by_pk(case.category_id)
    case.category = category
    known = {unit.pk: unit for unit in area_units(case.area_path).values()}
    if category.lead_department_id is not None:
        known.setdefault(category.lead_department_id, category.lead_department)
    wanted = {name: getattr(case, f"{name}_id") for name in CASE_UNITS}
    missing = {unit_id for unit_id in wanted.values() if unit_id is not None and unit_id not in known}
    if missing:
        known |= {unit.pk: unit for unit in Unit.objects.defer("boundary").filter(pk__in=missing)}
    for name, unit_id in wanted.items():
        setattr(case, name, known[unit_id] if unit_id is not None else None)
    return case


def case_personal_values(case: Case, *, extra: Collection[str] = ()) -> list[str]:
    """The case's known personal values (its reporter's and its parties' names, phones and
    ID numbers, and `extra`), for `scrub`: longest first, so "张三丰" goes before "张三";
    single characters are left out, as they would blank out text."""
    values = [case.reporter_name, case.reporter_phone, case.reporter_id_number, *extra]
    for party in case.parties.all():
        values += [party.name, party.phone, party.id_number]
    return sorted({v.strip() for v in values if v and len(v.strip()) >= 2}, key=len, reverse=True)


def case_get_by_tracking_code(*, tracking_code: str) -> Case:
    """The citizen's view: anyone holding the tracking code may follow the case."""
    case = Case.objects.select_related("category", "owner_unit").filter(tracking_code=tracking_code.upper()).first()
    if case is None:
        raise NotVisible("查询码不存在。")
    return case


def receipt_cases() -> QuerySet[Case]:
    """Cases with what a receipt prints: the category's group and the units, without their
    outlines. Unscoped: the caller holds the case's tracking code."""
    return Case.objects.select_related("category__group", "owner_unit", "grid", "community", "street").defer(
        "grid__boundary", "community__boundary", "street__boundary", "owner_unit__boundary"
    )


def case_get_joined(*, case_id: int, tracking_codes: Collection[str]) -> Case:
    """A case the caller's own report joined, outside their scope: readable only through
    its tracking code, which the caller's session holds (`tracking_codes`). For what its
    reporter is told: the code, category, handling unit, place and deadline."""
    case = receipt_cases().filter(pk=case_id, tracking_code__in=list(tracking_codes)).first()
    if case is None:
        raise NotVisible("案件不存在或无权查看。")
    return case


@dataclass
class CaseFilters:
    state: list[str] | None = None
    risk: list[str] | None = None
    tier: list[int] | None = None
    unit: int | None = None
    category: str | None = None
    kind: str | None = None
    channel: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    text: str | None = None


def _apply_filters(cases: QuerySet[Case], f: CaseFilters) -> QuerySet[Case]:
    if f.state:
        cases = cases.filter(state__in=f.state)
    if f.risk:
        cases = cases.filter(risk__in=f.risk)
    if f.tier:
        cases = cases.filter(tier__in=f.tier)
    if f.unit is not None:
        from puan.org.models import Unit

        unit = Unit.objects.filter(pk=f.unit).only("path").first()
        if unit is None:
            raise InvalidInput("单位不存在。", field="unit")
        cases = cases.filter(subtree_q(unit.path, "area_path") | subtree_q(unit.path, "owner_path"))
    if f.category:
        cases = cases.filter(Q(category__code=f.category) | Q(category__group__code=f.category))
    if f.kind:
        cases = cases.filter(kind=f.kind)
    if f.channel:
        cases = cases.filter(channel=f.channel)
    if f.created_from:
        cases = cases.filter(created_at__gte=f.created_from)
    if f.created_to:
        cases = cases.filter(created_at__lt=f.created_to)
    if f.text:
        text = f.text.strip()
        cases = cases.filter(
            Q(title__icontains=text)
            | Q(description__icontains=text)
            | Q(tracking_code=text.upper())
            | Q(address__icontains=text)
        )
    return cases


# --- cursor pagination: newest first, (created_at, id) as the key ------------------------


def encode_cursor(case: Case) -> str:
    raw = f"{case.created_at.isoformat()}|{case.pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, pk = base64.urlsafe_b64decode(padded.encode()).decode().split("|")
        return datetime.fromisoformat(at), int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("分页游标无效。", field="cursor") from None


def case_page(*, user, filters: CaseFilters, cursor: str | None, limit: int) -> tuple[list[Case], str | None]:
    cases = _apply_filters(case_list_visible_to(user=user), filters)
    if cursor:
        at, pk = decode_cursor(cursor)
        cases = cases.filter(Q(created_at__lt=at) | Q(created_at=at, pk__lt=pk))
    rows = list(
        cases.select_related("category", "owner_unit", "lead_department").order_by("-created_at", "-pk")[: limit + 1]
    )
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


# --- queues ---------------------------------------------------------------------------


def _owned_q(scope: DataScope) -> Q:
    """What a scope must act on, as opposed to what it may merely see: cases its unit owns
    now (a street's queue does not repeat its communities' work), cases in a grid worker's
    grid, cases its department leads or assists on."""
    grid_depth = LEVEL_DEPTH[UnitLevel.GRID] * PATH_SEGMENT_WIDTH
    owned = sorted(p for p in scope.unit_paths if len(p) < grid_depth)
    grids = [p for p in scope.unit_paths if len(p) >= grid_depth]
    q = Q(owner_path__in=owned) if owned else Q(pk__in=[])
    for path in grids:
        q |= subtree_q(path, "area_path")
    if scope.department_ids:
        q |= Q(lead_department_id__in=sorted(scope.department_ids))
        q |= Q(
            Exists(
                AssistTask.objects.filter(
                    case=OuterRef("pk"), department_id__in=sorted(scope.department_ids), status=AssistStatus.OPEN
                )
            )
        )
    return q


# The loop's last steps, which are somebody's work as much as the open states: the tier
# above checks a resolution (核查), the owner archives it once checked or rated (归档).
AFTER_RESOLUTION = (CaseState.RESOLVED, CaseState.VERIFIED, CaseState.RATED)
QUEUE_STATES = (*OPEN_STATES, *AFTER_RESOLUTION)
# The tiers whose resolutions a unit at this depth checks: the district centre its streets'
# and its own (no unit is above it), a street its communities'.
_CHECKS_TIERS = {1: (2, 3), 2: (1,)}


def _after_resolution_q(scope: DataScope) -> Q:
    """Resolved cases the scope's unit checks, being the tier above the owner, and checked
    or rated cases it owns, which it archives."""
    grid_depth = LEVEL_DEPTH[UnitLevel.GRID] * PATH_SEGMENT_WIDTH
    owned = sorted(p for p in scope.unit_paths if len(p) < grid_depth)
    q = Q(state__in=[CaseState.VERIFIED, CaseState.RATED], owner_path__in=owned) if owned else Q(pk__in=[])
    for path in owned:
        tiers = _CHECKS_TIERS.get(len(path) // PATH_SEGMENT_WIDTH)
        if tiers:
            q |= Q(state=CaseState.RESOLVED, tier__in=tiers) & subtree_q(path, "owner_path")
    return q


QUEUE_ORDER = (
    SqlCase(When(state=CaseState.ESCALATED, then=Value(0)), default=Value(1), output_field=IntegerField()),
    SqlCase(
        When(risk=Risk.RED, then=Value(0)),
        When(risk=Risk.ORANGE, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    ),
)


def case_queue(*, user, filters: CaseFilters, limit: int, offset: int) -> tuple[list[Case], dict[str, int], int]:
    """A handler's work: open cases their scope owns, and resolutions it checks or archives,
    escalated first, then red, orange, yellow, then the earliest deadline. Also the count
    per state (before state filters)."""
    scope = scope_for(user)
    owned = Case.objects.filter((_owned_q(scope) & Q(state__in=OPEN_STATES)) | _after_resolution_q(scope))
    unfiltered_states = CaseFilters(**{**filters.__dict__, "state": None})
    counts = dict(_apply_filters(owned, unfiltered_states).values_list("state").annotate(n=Count("pk")).order_by())
    cases = _apply_filters(owned, filters)
    total = cases.count()
    rows = list(
        cases.select_related("category", "owner_unit", "lead_department")
        .annotate(_escalated=QUEUE_ORDER[0], _risk=QUEUE_ORDER[1])
        .order_by("_escalated", "_risk", "resolve_due_at", "pk")[offset : offset + limit]
    )
    return rows, {s: counts.get(s, 0) for s in QUEUE_STATES}, total
