"""The citizen's page (/public/): submit an appeal, follow it by its tracking code, rate
the outcome. No account: every POST is rate-limited per client address, a look-up shows
public fields only (state, the public steps with their times, the outcome), never
personal data or internal notes."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from puan.cases import services as svc
from puan.cases.models import DONE_STATES, Case, CaseKind, CaseState, Channel
from puan.cases.selectors import case_get_by_tracking_code, case_personal_values, receipt_cases
from puan.cases.views import category_groups
from puan.cases.views_intake import communities, file_once
from puan.cases.views_receipt import follow_url, joined_report, pdf_response, receipt_pdf, remember_joined
from puan.core.errors import ConcurrentChange, DomainError, InvalidInput, NotAllowed, NotVisible, RateLimited
from puan.core.pii import is_valid_phone, scrub
from puan.org import geo
from puan.org.models import PATH_SEGMENT_WIDTH, Unit
from puan.web.citizen import case_rate_by_citizen
from puan.web.forms import PageForm, SubmitOnceForm
from puan.web.http import message_of, rate_limit_public, rate_limited_response
from puan.web.templatetags.puan_tags import localized_name

SESSION_KEY = "citizen_cases"  # tracking codes this browser submitted (for the receipt)

# The steps a citizen sees, in their words. Comments, assisting tasks, risk grading and
# supervision stay inside.
PUBLIC_STEPS = {
    "register": "已登记",
    "duplicate_report": "收到同一事项的其他反映",
    "accept": "已受理",
    "reject": "不予受理",
    "triage": "已分流",
    "assign": "已交办责任单位",
    "start": "开始处置",
    "escalate": "已提交上级协调",
    "return": "交由下级办理",
    "resolve": "已办结",
    "verify": "已核查",
    "rate": "已评价",
    "reopen": "重新办理",
    "close": "已归档",
}


class AppealForm(SubmitOnceForm):
    category = forms.ChoiceField(label=_("反映事项类别"), error_messages={"required": _("请选择反映事项类别。")})
    title = forms.CharField(
        label=_("标题"), max_length=200, error_messages={"required": _("请用一句话概括您反映的事项。")}
    )
    description = forms.CharField(
        label=_("详细情况"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": _("请填写详细情况。")},
    )
    address = forms.CharField(label=_("事发地址"), required=False, max_length=300)
    unit_id = forms.TypedChoiceField(label=_("所在社区/村"), coerce=int, required=False, empty_value=None)
    lon = forms.FloatField(required=False, widget=forms.HiddenInput, min_value=-180, max_value=180)
    lat = forms.FloatField(required=False, widget=forms.HiddenInput, min_value=-90, max_value=90)
    reporter_name = forms.CharField(label=_("您的称呼"), required=False, max_length=50)
    reporter_phone = forms.CharField(
        label=_("手机号码"),
        max_length=20,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        help_text=_("用于联系您和评价办理结果，加密保存，不会公开。"),
        error_messages={"required": _("请填写手机号码，以便联系您和评价办理结果。")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", gettext("请选择")), *category_groups(public_only=True)]
        self.fields["unit_id"].choices = [("", gettext("请选择")), *communities()]

    def clean_reporter_phone(self) -> str:
        phone = self.cleaned_data["reporter_phone"].strip()
        if not is_valid_phone(phone):
            raise forms.ValidationError(gettext("手机号码格式不正确。"))
        return phone

    def clean(self):
        d = super().clean()
        if d.get("lon") is None and d.get("unit_id") is None and "unit_id" not in self.errors:
            self.add_error("unit_id", gettext("请选择事发所在社区，或使用当前位置。"))
        return d

    def intake_input(self) -> svc.IntakeInput:
        d = self.cleaned_data
        located = d.get("lon") is not None and d.get("lat") is not None
        return svc.IntakeInput(
            kind=CaseKind.APPEAL,
            channel=Channel.ONLINE,
            category_code=d["category"],
            title=d["title"],
            description=d["description"],
            lon=d["lon"] if located else None,
            lat=d["lat"] if located else None,
            address=d.get("address") or "",
            unit_id=None if located else d.get("unit_id"),
            reporter_name=d.get("reporter_name") or "",
            reporter_phone=d["reporter_phone"],
        )


class TrackForm(PageForm):
    code = forms.CharField(
        label=_("查询码"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
        error_messages={"required": _("请输入受理回执上的查询码。")},
    )

    def clean_code(self) -> str:
        return self.cleaned_data["code"].strip().upper()


class RateForm(PageForm):
    code = forms.CharField(widget=forms.HiddenInput, max_length=20)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    phone = forms.CharField(
        label=_("反映时留下的手机号码"),
        max_length=20,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        error_messages={"required": _("请输入反映时留下的手机号码。")},
    )
    satisfaction = forms.TypedChoiceField(
        label=_("您对办理结果是否满意"),
        coerce=int,
        widget=forms.RadioSelect,
        choices=[(5, _("非常满意")), (4, _("满意")), (3, _("基本满意")), (2, _("不满意")), (1, _("非常不满意"))],
        error_messages={"required": _("请选择满意程度。")},
    )
    note = forms.CharField(
        label=_("意见建议（可选）"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


def public_view(case: Case) -> dict:
    """What anyone holding the tracking code may see: the state, the public steps with
    their times, the outcome."""
    steps = [
        {"label": pgettext("state", PUBLIC_STEPS[e["kind"]]), "at": e["at"]}
        for e in case.events.filter(kind__in=list(PUBLIC_STEPS)).order_by("seq").values("kind", "at")
    ]
    # No title or description: they are the reporter's words and may name people; a
    # category that citizens cannot report is not named either.
    return {
        "code": case.tracking_code,
        "category": localized_name(case.category) if case.category.public else "",
        "state": pgettext("state", CaseState(case.state).label),
        "state_code": case.state,
        "created_at": case.created_at,
        "steps": steps,
        # The handler's words may name people: scrubbed, as Open311 publishes them.
        "outcome": scrub(case.outcome, case_personal_values(case)) if case.state in DONE_STATES else "",
        "satisfaction": case.satisfaction,
        "can_rate": case.state == CaseState.VERIFIED,
        "version": case.version,
    }


def _limited(request: HttpRequest, scope: str) -> HttpResponse | None:
    try:
        rate_limit_public(request, scope)
    except RateLimited as error:
        return rate_limited_response(request, error)
    return None


@require_GET
def citizen_home(request: HttpRequest) -> HttpResponse:
    return render(request, "cases/citizen_home.html", {"track_form": TrackForm()})


@never_cache
@require_http_methods(["GET", "POST"])
def citizen_appeal(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        limited = _limited(request, "appeal")
        if limited:
            return limited
    form = AppealForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            data = form.intake_input()
            try:
                filed = file_once(form, data, actor=None, scope="citizen_appeal")
            except InvalidInput as error:
                field = {"lon": "unit_id", "lat": "unit_id", "channel": None, "kind": None}.get(
                    error.field or "", error.field
                )
                form.add_error(field if field in form.fields else None, message_of(error))
            except DomainError as error:
                form.add_error(None, message_of(error))
            else:
                codes = [filed["code"], *request.session.get(SESSION_KEY, [])]
                request.session[SESSION_KEY] = list(dict.fromkeys(codes))[:5]
                if filed["linked"]:
                    remember_joined(request, filed["code"], title=data.title, address=data.address)
                return redirect("citizen:appeal_done")
        return render(request, "cases/citizen_appeal.html", {"form": form}, status=422)
    return render(request, "cases/citizen_appeal.html", {"form": form})


@never_cache
@require_GET
def citizen_appeal_done(request: HttpRequest) -> HttpResponse:
    codes = request.session.get(SESSION_KEY, [])
    if not codes:
        return redirect("citizen:home")
    case = Case.objects.select_related("category", "owner_unit").filter(tracking_code=codes[0]).first()
    if case is None:
        return redirect("citizen:home")
    context = {"case": case, "joined": joined_report(request, case)}
    return render(request, "cases/citizen_appeal_done.html", context)


@never_cache
@require_GET
def citizen_receipt(request: HttpRequest, code: str) -> HttpResponse:
    """The receipt of an appeal made in this browser session (the code alone is not
    enough: the receipt names the place and the handling unit)."""
    if code.upper() not in request.session.get(SESSION_KEY, []):
        return render(request, "404.html", status=404)
    case = receipt_cases().get(tracking_code=code.upper())
    joined = joined_report(request, case)
    return pdf_response(case, receipt_pdf(case, follow_url=follow_url(request), joined=joined))


def _track_page(request: HttpRequest, form: TrackForm, *, view=None, rate_form=None, notice=None, status=200):
    return render(
        request,
        "cases/citizen_track.html",
        {
            "form": form,
            "view": view,
            "rate_form": rate_form,
            "notice": notice,
            "notice_kind": "success" if status == 200 else "error",
        },
        status=status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def citizen_track(request: HttpRequest) -> HttpResponse:
    """Follow a case by its tracking code (POST, so the code stays out of URLs and logs)."""
    if request.method == "GET":
        return _track_page(request, TrackForm())
    limited = _limited(request, "track")
    if limited:
        return limited
    form = TrackForm(request.POST)
    if not form.is_valid():
        return _track_page(request, form, status=422)
    try:
        case = case_get_by_tracking_code(tracking_code=form.cleaned_data["code"])
    except NotVisible:
        form.add_error("code", gettext("查询码不存在，请核对受理回执上的查询码。"))
        return _track_page(request, form, status=404)
    view = public_view(case)
    rate_form = RateForm(initial={"code": case.tracking_code, "version": case.version}) if view["can_rate"] else None
    return _track_page(request, form, view=view, rate_form=rate_form)


@never_cache
@require_POST
def citizen_rate(request: HttpRequest) -> HttpResponse:
    limited = _limited(request, "rate")
    if limited:
        return limited
    rate_form = RateForm(request.POST)
    code = (request.POST.get("code") or "").strip().upper()
    try:
        case = case_get_by_tracking_code(tracking_code=code)
    except NotVisible:
        return _track_page(request, TrackForm(), notice=gettext("查询码不存在。"), status=404)
    track_form = TrackForm(initial={"code": case.tracking_code})
    if not rate_form.is_valid():
        return _track_page(request, track_form, view=public_view(case), rate_form=rate_form, status=422)
    d = rate_form.cleaned_data
    try:
        case = case_rate_by_citizen(
            tracking_code=code, phone=d["phone"], version=d["version"], satisfaction=d["satisfaction"], note=d["note"]
        )
    except NotAllowed as error:
        rate_form.add_error("phone", message_of(error))
        return _track_page(request, track_form, view=public_view(case), rate_form=rate_form, status=403)
    except ConcurrentChange:
        fresh = case_get_by_tracking_code(tracking_code=code)
        view = public_view(fresh)
        again = RateForm(initial={"code": code, "version": fresh.version}) if view["can_rate"] else None
        text = gettext("案件情况刚刚有了变化，请查看最新进度后再评价。")
        return _track_page(request, track_form, view=view, rate_form=again, notice=text, status=409)
    except DomainError as error:
        view = public_view(case_get_by_tracking_code(tracking_code=code))
        return _track_page(request, track_form, view=view, notice=message_of(error), status=error.status)
    return _track_page(request, track_form, view=public_view(case), notice=gettext("感谢您的评价！"))


@require_GET
def citizen_locate(request: HttpRequest) -> JsonResponse:
    """Which community a point lies in, for "use my location" (the API's locate needs a
    signed-in user). Place names only; nothing about cases."""
    try:
        lon, lat = float(request.GET["lon"]), float(request.GET["lat"])
    except (KeyError, ValueError):
        return JsonResponse({"inside": False, "message": gettext("经纬度无效。")}, status=422)
    hit = geo.locate(lon, lat)
    if hit is None:
        return JsonResponse({"inside": False})
    units = Unit.objects.filter(path__in=ancestor_paths(hit.path)).values("pk", "name", "level")
    chain = {u["level"]: {"id": u["pk"], "name": u["name"]} for u in units}
    return JsonResponse({"inside": True, **{k: chain.get(k) for k in ("street", "community", "grid")}})


def ancestor_paths(path: str) -> list[str]:
    w = PATH_SEGMENT_WIDTH
    return [path[: i + w] for i in range(0, len(path), w)]
