"""Window and hotline intake (登记受理): one form with category search, the place by
address (community) or by a click on the grid map, duplicate suggestions while the clerk
types, and the acceptance receipt once the case is registered."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from puan.accounts.selectors import is_read_only
from puan.cases import services as svc
from puan.cases.models import OPEN_STATES, CaseKind, Channel
from puan.cases.selectors import CaseFilters, case_get_visible, case_page
from puan.cases.views import FACT_FLAGS, FactsMixin, _choices, category_groups
from puan.cases.views_receipt import case_of_report, remember_joined
from puan.core.errors import Conflict, DomainError, InvalidInput, NotAllowed, NotVisible
from puan.core.idempotency import KeyReused, run_once
from puan.org import geo
from puan.org.models import Unit, UnitLevel, subtree_q
from puan.web.forms import SubmitOnceForm
from puan.web.http import message_of, staff_required

TEMPLATE = "cases/intake.html"
# Channels a clerk records by hand; sensors and video analytics report through the API.
STAFF_CHANNELS = [Channel.WINDOW, Channel.HOTLINE, Channel.LETTER, Channel.ONLINE, Channel.REFERRAL, Channel.PATROL]
MAP_FEATURE_LIMIT = 3000


# --- geography (public knowledge: names and outlines of streets, communities, grids) ---


def communities() -> list[tuple[str, list[tuple[int, str]]]]:
    """Every active community/village grouped by street, for the "where" select. Place
    names are not case data: a clerk at any window may take in a case from anywhere."""
    streets = dict(Unit.objects.filter(level=UnitLevel.STREET, is_active=True).values_list("pk", "name"))
    groups: dict[str, list[tuple[int, str]]] = {}
    for pk, name, parent_id in (
        Unit.objects.filter(level=UnitLevel.COMMUNITY, is_active=True)
        .order_by("path")
        .values_list("pk", "name", "parent_id")
    ):
        groups.setdefault(streets.get(parent_id, ""), []).append((pk, name))
    return list(groups.items())


def community_for_address(address: str) -> int | None:
    """The community whose name the address mentions (the longest such name wins:
    "深井村" must not beat "深井村新村社区")."""
    address = (address or "").strip()
    if len(address) < 2:
        return None
    best: tuple[int, int] | None = None
    for pk, name in Unit.objects.filter(level=UnitLevel.COMMUNITY, is_active=True).values_list("pk", "name"):
        short = name.removesuffix("社区").removesuffix("村") or name
        if (name in address or (len(short) >= 2 and short in address)) and (best is None or len(name) > best[1]):
            best = (pk, len(name))
    return best[0] if best else None


# --- the form -------------------------------------------------------------------------


class IntakeForm(FactsMixin, SubmitOnceForm):
    channel = forms.ChoiceField(label=_("来源渠道"), choices=[(c.value, gettext_lazy(c.label)) for c in STAFF_CHANNELS])
    kind = forms.ChoiceField(label=_("案件类型"), choices=_choices(CaseKind), initial=CaseKind.APPEAL)
    category_q = forms.CharField(
        label=_("搜索事项分类"),
        required=False,
        max_length=50,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": _("输入关键词，如：噪音、漏水、欠薪"),
                "hx-get": reverse_lazy("cases:intake_categories"),
                "hx-trigger": "input changed delay:250ms, search",
                "hx-target": "#id_category",
                "hx-swap": "outerHTML",
                "hx-include": "#id_category",
                "autocomplete": "off",
            }
        ),
    )
    category = forms.ChoiceField(label=_("事项分类"), error_messages={"required": _("请选择事项分类。")})
    title = forms.CharField(label=_("标题"), max_length=200, error_messages={"required": _("请填写标题。")})
    description = forms.CharField(
        label=_("事项描述"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("请填写事项描述。")},
    )
    address = forms.CharField(
        label=_("事发地址"),
        required=False,
        max_length=300,
        widget=forms.TextInput(
            attrs={
                "hx-get": reverse_lazy("cases:intake_place"),
                "hx-trigger": "change, input changed delay:500ms",
                "hx-target": "#id_unit_id",
                "hx-swap": "outerHTML",
                "hx-include": "#id_unit_id",
            }
        ),
    )
    unit_id = forms.TypedChoiceField(
        label=_("所属社区/村"),
        coerce=int,
        required=False,
        empty_value=None,
        help_text=_("或在下方地图上点击事发位置。"),
    )
    lon = forms.FloatField(required=False, widget=forms.HiddenInput, min_value=-180, max_value=180)
    lat = forms.FloatField(required=False, widget=forms.HiddenInput, min_value=-90, max_value=90)
    reporter_name = forms.CharField(label=_("反映人姓名"), required=False, max_length=50)
    reporter_phone = forms.CharField(
        label=_("反映人电话"), required=False, max_length=20, widget=forms.TextInput(attrs={"type": "tel"})
    )
    reporter_id_number = forms.CharField(label=_("反映人身份证号"), required=False, max_length=18)

    # Service errors name API fields; where each appears here.
    field_map = {"lon": "unit_id", "lat": "unit_id", "evidence_ids": None, "handled_on_spot": None}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", gettext("请选择")), *category_groups()]
        self.fields["unit_id"].choices = [("", gettext("请选择（或在地图上点选）")), *communities()]
        self.fields["channel"].initial = Channel.WINDOW
        self.order_fields(
            [
                "channel",
                "kind",
                "category_q",
                "category",
                "title",
                "description",
                "address",
                "unit_id",
                "lon",
                "lat",
                "reporter_name",
                "reporter_phone",
                "reporter_id_number",
                "people_involved",
                "property_loss",
                *[name for name, _label in FACT_FLAGS],
            ]
        )

    def clean(self):
        d = super().clean()
        if d.get("lon") is None and d.get("unit_id") is None and "unit_id" not in self.errors:
            self.add_error("unit_id", gettext("请选择所属社区，或在地图上点击事发位置。"))
        return d

    def intake_input(self) -> svc.IntakeInput:
        d = self.cleaned_data
        located = d.get("lon") is not None and d.get("lat") is not None
        return svc.IntakeInput(
            kind=d["kind"],
            channel=d["channel"],
            category_code=d["category"],
            title=d["title"],
            description=d["description"],
            lon=d["lon"] if located else None,
            lat=d["lat"] if located else None,
            address=d.get("address") or "",
            unit_id=None if located else d.get("unit_id"),
            facts={k: v for k, v in self.facts().items() if v not in (False, None)},
            reporter_name=d.get("reporter_name") or "",
            reporter_phone=(d.get("reporter_phone") or "").strip(),
            reporter_id_number=(d.get("reporter_id_number") or "").strip(),
        )

    def place_error(self, error: InvalidInput) -> None:
        field = self.field_map.get(error.field or "", error.field)
        self.add_error(field if field in self.fields else None, message_of(error))


def _writer_or_403(request: HttpRequest) -> HttpResponse | None:
    if is_read_only(request.user):
        return render(request, "403.html", {"reason": gettext("当前角色为只读，不能登记案件。")}, status=403)
    return None


@require_http_methods(["GET", "POST"])
@staff_required
def intake(request: HttpRequest) -> HttpResponse:
    refused = _writer_or_403(request)
    if refused:
        return refused
    form = IntakeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.intake_input()
            try:
                filed = file_once(form, data, actor=request.user, scope="intake_form")
            except InvalidInput as error:
                form.place_error(error)
            except NotAllowed as error:
                return render(request, "403.html", {"reason": message_of(error)}, status=403)
            except DomainError as error:
                form.add_error(None, message_of(error))
            else:
                target = redirect("cases:intake_done", case_id=filed["case"])
                # Kept for the done page and receipt: the case may lie outside the clerk's
                # scope (a window takes reports from the whole district).
                remember_joined(request, filed["code"], title=data.title, address=data.address, joined=filed["linked"])
                if filed["linked"]:
                    target["Location"] += "?linked=1"
                return target
        status = 422
    return render(request, TEMPLATE, {"form": form, "user_unit": request.user.unit_id}, status=status)


def file_once(form: SubmitOnceForm, data: svc.IntakeInput, *, actor, scope: str) -> dict:
    """Take the form's report in once per submission key: a resend (a double click, a
    retry after a timeout) gets the first submission's outcome instead of a second case.
    The outcome: the case's id and tracking code, and whether the report joined it.

    A form filed once and then sent again changed (the browser's Back, a typo put right)
    is refused with the first report's tracking code, and gets a fresh key: sent once
    more, it is a report of its own."""
    try:
        _status, outcome = run_once(
            key=form.submission_key(),
            user=actor,
            scope=scope,
            payload=form.fingerprint(),
            prepare=lambda: svc.intake_prepare(actor=actor, data=data),
            work=svc.intake_commit,
            answer=lambda result: (
                200 if result.linked else 201,
                {"case": result.case.pk, "code": result.case.tracking_code, "linked": result.linked},
            ),
        )
    except KeyReused as reused:
        form.renew_key()
        code = reused.first.get("code", "")
        raise Conflict(
            "这张表单已经提交过（查询码 %(code)s）。如需另行登记，请核对内容后再次提交。",
            params={"code": code},
            code="already_filed",
        ) from None
    return outcome


@require_GET
@staff_required
def intake_done(request: HttpRequest, case_id: int) -> HttpResponse:
    """What the clerk hands on: the tracking code and receipt. A report that joined an open
    case shows itself with that case's code, unit and deadline, and the case itself only
    if the clerk may see it."""
    linked = request.GET.get("linked") == "1"
    case, joined, visible = case_of_report(request, case_id, joined=linked)
    context = {"case": case, "linked": linked or joined is not None, "joined": joined, "visible": visible}
    return render(request, "cases/intake_done.html", context)


@require_GET
@staff_required
def intake_categories(request: HttpRequest) -> HttpResponse:
    """The category select, narrowed to what matches the search words; the current
    choice is kept when it still matches, else the first match is chosen."""
    query = request.GET.get("category_q", "")[:50]
    groups = category_groups(query)
    codes = [code for _group, options in groups for code, _label in options]
    selected = request.GET.get("category", "")
    if selected not in codes:
        selected = codes[0] if query and codes else ""
    return render(
        request,
        "cases/intake.html#category_select",
        {"category_groups": groups, "selected": selected, "query": query},
    )


@require_GET
@staff_required
def intake_place(request: HttpRequest) -> HttpResponse:
    """Location by address: the community the address names, chosen in the select."""
    found = community_for_address(request.GET.get("address", ""))
    try:
        current = int(request.GET.get("unit_id") or 0) or None
    except ValueError:
        current = None
    return render(
        request,
        "cases/intake.html#unit_select",
        {"community_groups": communities(), "selected": found or current, "matched": found is not None},
    )


@require_GET
@staff_required
def intake_similar(request: HttpRequest) -> HttpResponse:
    """Open cases that may be the same matter: same category in the same grid or
    community, or cases whose text mentions the address. Only cases the clerk may see.
    The one intake would join the report to (same category, within the duplicate radius
    and window) comes first and says so."""
    g = request.GET
    category = g.get("category", "").strip()[:16]
    area = _area_of(g)
    found = {}
    open_states = [str(s) for s in OPEN_STATES]
    merge_into, merge_hidden = None, False
    point = _point_of(g)
    if category and point is not None:
        target = svc.duplicate_target(category_code=category, lon=point[0], lat=point[1])
        if target is not None:
            try:
                merge_into = case_get_visible(user=request.user, case_id=target)
            except NotVisible:
                merge_hidden = True  # joined all the same; the clerk just cannot open it
            else:
                found[merge_into.pk] = merge_into
    if category and area is not None:
        try:
            rows, _next = case_page(
                user=request.user,
                filters=CaseFilters(state=open_states, category=category, unit=area),
                cursor=None,
                limit=5,
            )
        except InvalidInput:  # a unit that does not exist: nothing there to suggest
            rows = []
        found.update({c.pk: c for c in rows})
    address = g.get("address", "").strip()[:100]
    if len(address) >= 4:
        rows, _next = case_page(
            user=request.user, filters=CaseFilters(state=open_states, text=address), cursor=None, limit=5
        )
        found.update({c.pk: c for c in rows})
    return render(
        request,
        "cases/intake.html#similar",
        {"similar": list(found.values())[:8], "merge_into": merge_into, "merge_hidden": merge_hidden},
    )


def _point_of(params) -> tuple[float, float] | None:
    try:
        lon, lat = float(params.get("lon", "")), float(params.get("lat", ""))
    except ValueError:
        return None
    return (lon, lat) if -180 <= lon <= 180 and -90 <= lat <= 90 else None


def _area_of(params) -> int | None:
    point = _point_of(params)
    if point is not None:
        hit = geo.locate(*point)
        if hit is not None:
            return hit.grid_id
    try:
        return int(params.get("unit_id") or 0) or None
    except ValueError:
        return None


@require_GET
@staff_required
def area_geojson(request: HttpRequest) -> JsonResponse:
    """The map picker's regions: the units below `unit` (default: the district) that have
    an outline; where they have none (a tree whose streets carry no boundary), the grids
    below it. Features carry id, name and level so a click can drill down."""
    admin = Unit.objects.filter(is_active=True).exclude(level=UnitLevel.DEPARTMENT)
    try:
        root = admin.defer("boundary").filter(pk=int(request.GET.get("unit") or 0)).first()
    except ValueError:
        root = None
    if root is None:
        root = admin.defer("boundary").filter(level=UnitLevel.DISTRICT).order_by("pk").first()
    if root is None:
        return JsonResponse({"type": "FeatureCollection", "features": [], "title": ""})
    with_outline = Q(boundary__isnull=False)
    if root.level == UnitLevel.GRID:
        units = admin.filter(pk=root.pk)
    else:
        units = admin.filter(with_outline, parent=root)
        if not units.exists():
            units = admin.filter(with_outline, subtree_q(root.path), level=UnitLevel.GRID)
    features, seen = [], set()
    for pk, name, code, level, boundary in units.order_by("path").values_list(
        "pk", "name", "code", "level", "boundary"
    )[:MAP_FEATURE_LIMIT]:
        label = name if name not in seen else f"{name}（{code}）"
        seen.add(label)
        features.append(
            {"type": "Feature", "properties": {"id": pk, "name": label, "level": level}, "geometry": boundary}
        )
    return JsonResponse({"type": "FeatureCollection", "features": features, "title": root.name})
