"""The staff workbench: my queue and the case page with the moves I may make now.

Full pages with named partials (django-template-partials): HTMX swaps the queue's
results when a filter changes and the whole case panel after every move, so the
timeline, the deadline and the buttons are always those of the case as it now is.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext, gettext_lazy, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from puan.accounts.selectors import is_read_only
from puan.cases import services as svc
from puan.cases.api import case_detail
from puan.cases.attachments import attachment_upload
from puan.cases.models import AssistStatus, Attachment, Case, CaseKind, Risk
from puan.cases.selectors import QUEUE_STATES, CaseFilters, case_get_visible, case_queue
from puan.cases.transitions import MOVES, Who, actor_relations
from puan.core.errors import ConcurrentChange, Conflict, DomainError, InvalidInput, NotAllowed, NotVisible
from puan.core.uploads import max_upload_bytes
from puan.org.models import Unit, UnitLevel
from puan.sla import services as sla
from puan.taxonomy.models import Category, Lane, Tier
from puan.web.forms import PageForm
from puan.web.http import is_htmx, message_of, staff_required
from puan.web.templatetags.puan_tags import localized_name

PAGE_SIZE = 30
QUEUE_TEMPLATE = "cases/queue.html"
CASE_TEMPLATE = "cases/case.html"

# --- the queue ------------------------------------------------------------------------


def _choices(choices) -> list[tuple]:
    """A model's choices with labels translated when shown (the labels are Chinese
    literals; the English catalogue carries them)."""
    return [(value, gettext_lazy(label)) for value, label in choices.choices]


class QueueFilterForm(PageForm):
    text = forms.CharField(
        label=_("搜索"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": _("标题、描述、地址或查询码"),
                # Results follow the typing, without a full reload.
                "hx-get": reverse_lazy("cases:queue"),
                "hx-trigger": "input changed delay:400ms, search",
                "hx-target": "#queue-results",
                "hx-swap": "outerHTML",
                "hx-include": "#queue-filters",
                "hx-push-url": "true",
            }
        ),
    )
    risk = forms.ChoiceField(label=_("风险等级"), required=False, choices=[("", _("全部")), *_choices(Risk)])
    tier = forms.TypedChoiceField(
        label=_("层级"), required=False, coerce=int, empty_value=None, choices=[("", _("全部")), *_choices(Tier)]
    )
    kind = forms.ChoiceField(label=_("类型"), required=False, choices=[("", _("全部")), *_choices(CaseKind)])
    state = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[("", _("全部待办"))] + [(s.value, pgettext_lazy("state", s.label)) for s in QUEUE_STATES],
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=1_000_000, widget=forms.HiddenInput)


@dataclass
class QueueRow:
    case: Case
    light: str
    remaining_seconds: int | None


def _queue_context(request: HttpRequest) -> dict:
    """The queue page's rows (with each case's clock), the state chips with their counts
    and the pager. An invalid filter value is ignored rather than refused."""
    form = QueueFilterForm(request.GET or None)
    data: dict = {}
    if form.is_bound:
        form.is_valid()  # a value that is not valid (an old link, say) drops its own filter only
        data = form.cleaned_data
    filters = CaseFilters(
        state=[data["state"]] if data.get("state") else None,
        risk=[data["risk"]] if data.get("risk") else None,
        tier=[data["tier"]] if data.get("tier") else None,
        kind=data.get("kind") or None,
        text=data.get("text") or None,
    )
    page = data.get("page") or 1
    rows, counts, total = case_queue(user=request.user, filters=filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    if page > 1 and not rows and total:
        # The page read has emptied meanwhile (its cases done): the last page there is.
        page = -(-total // PAGE_SIZE)
        rows, counts, total = case_queue(
            user=request.user, filters=filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
    queue_rows = []
    for case in rows:
        clock = sla.case_clock(case)
        queue_rows.append(QueueRow(case, clock.light, clock.remaining_seconds))
    chips = [("", gettext("全部待办"), sum(counts.values()))] + [
        (s.value, pgettext("state", s.label), counts.get(s.value, 0)) for s in QUEUE_STATES
    ]
    pages = max(1, -(-total // PAGE_SIZE))
    return {
        "form": form,
        "rows": queue_rows,
        "chips": chips,
        "current_state": data.get("state") or "",
        "total": total,
        "page": page,
        "pages": pages,
        "prev_query": _with(request.GET, page=page - 1) if page > 1 else None,
        "next_query": _with(request.GET, page=page + 1) if page < pages else None,
        "read_only": is_read_only(request.user),
    }


def _with(query: QueryDict, **changes) -> str:
    q = query.copy()
    for key, value in changes.items():
        q[key] = str(value)
    return q.urlencode()


@require_GET
@staff_required
def queue(request: HttpRequest) -> HttpResponse:
    """My queue in the spine's order (escalated, then red, orange, yellow, then the
    earliest deadline) with the count of each state; filters refresh only the results."""
    context = _queue_context(request)
    if is_htmx(request) and request.headers.get("HX-Target") == "queue-results":
        return render(request, f"{QUEUE_TEMPLATE}#queue_results", context)
    return render(request, QUEUE_TEMPLATE, context)


# --- move forms -----------------------------------------------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*,application/pdf"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        if len(files) > 9:
            raise forms.ValidationError(gettext("一次最多上传 9 个文件。"))
        for f in files:
            if f.size > max_upload_bytes():
                raise forms.ValidationError(
                    gettext("文件超过 %(mb)s MB 的上限。") % {"mb": max_upload_bytes() // (1024 * 1024)}
                )
        return files


def _note(label, *, required: bool = False, message=None) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": message or _("请填写理由或说明。")},
    )


def _departments() -> list[tuple[int, str]]:
    return list(
        Unit.objects.filter(level=UnitLevel.DEPARTMENT, is_active=True)
        .order_by("sort_order", "pk")
        .values_list("pk", "name")
    )


def category_groups(query: str = "", *, public_only: bool = False) -> list[tuple[str, list[tuple[str, str]]]]:
    """Active categories grouped by item group, named in the page's language; `query`
    keeps those whose code, names, description or keywords contain every word."""
    categories = Category.objects.filter(is_active=True).select_related("group")
    if public_only:
        categories = categories.filter(public=True)
    query = query.strip()
    groups: dict[str, list[tuple[str, str]]] = {}
    for c in categories.order_by("group__sort_order", "sort_order", "code"):
        haystack = " ".join([c.code, c.name, c.name_en, c.group.name, c.description, *c.keywords]).lower()
        if query and not all(word in haystack for word in query.lower().split()):
            continue
        groups.setdefault(localized_name(c.group), []).append((c.code, f"{localized_name(c)}（{c.code}）"))
    return list(groups.items())


class MoveForm(PageForm):
    """Every move carries the version of the case the user saw: a stale one is refused."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    # Service errors name API fields; here is where each appears on this form.
    field_map: dict[str, str] = {}

    def __init__(self, *args, action: str, case: Case, user, **kwargs):
        self.action = action
        self.case = case
        self.user = user
        kwargs.setdefault("initial", {})["version"] = case.version
        kwargs.setdefault("auto_id", f"id_{action}_%s")
        super().__init__(*args, **kwargs)

    def perform(self) -> Case:
        raise NotImplementedError

    def place_error(self, error: InvalidInput) -> None:
        field = self.field_map.get(error.field or "", error.field)
        self.add_error(field if field in self.fields else None, message_of(error))


class NoteMove(MoveForm):
    note = _note(_("说明（可选）"))

    def perform(self) -> Case:
        service = {
            "accept": svc.case_accept,
            "start": svc.case_start,
            "verify": svc.case_verify,
            "close": svc.case_close,
            "resume": sla.case_resume,
        }[self.action]
        return service(case=self.case, actor=self.user, version=self.cleaned_data["version"], note=self.note_text)

    @property
    def note_text(self) -> str:
        return self.cleaned_data.get("note") or ""


class ReasonMove(NoteMove):
    note = _note(_("理由或说明"), required=True)

    def perform(self) -> Case:
        service = {
            "reject": svc.case_reject,
            "escalate": svc.case_escalate,
            "return": svc.case_return,
            "reopen": svc.case_reopen,
            "comment": svc.case_comment,
            "request_suspension": sla.case_request_suspension,
        }[self.action]
        return service(case=self.case, actor=self.user, version=self.cleaned_data["version"], note=self.note_text)


class TriageMove(NoteMove):
    category = forms.ChoiceField(label=_("事项分类"))
    lane = forms.ChoiceField(label=_("办理通道"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_groups()
        self.fields["category"].initial = self.case.category.code
        self.fields["lane"].choices = [("", gettext("按分类默认")), *_choices(Lane)]
        self.fields["lane"].initial = ""
        self.order_fields(["category", "lane", "note"])

    def perform(self) -> Case:
        d = self.cleaned_data
        return svc.case_triage(
            case=self.case,
            actor=self.user,
            version=d["version"],
            category_code=d["category"],
            lane=d["lane"] or None,
            note=self.note_text,
        )


class AssignMove(NoteMove):
    lead_department = forms.TypedChoiceField(label=_("牵头部门"), coerce=int)
    assist_department = forms.TypedChoiceField(
        label=_("协办部门（可选，街道及以上）"), coerce=int, required=False, empty_value=None
    )
    assist_task = forms.CharField(label=_("协办任务"), required=False, max_length=500)
    field_map = {"lead_department_id": "lead_department", "assists": "assist_department", "task": "assist_task"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        departments = _departments()
        self.fields["lead_department"].choices = departments
        self.fields["lead_department"].initial = self.case.lead_department_id
        self.fields["assist_department"].choices = [("", gettext("不增加")), *departments]
        if self.case.tier < Tier.STREET:
            del self.fields["assist_department"], self.fields["assist_task"]
        self.order_fields(["lead_department", "assist_department", "assist_task", "note"])

    def clean(self):
        d = super().clean()
        if d.get("assist_department") and not (d.get("assist_task") or "").strip():
            self.add_error("assist_task", gettext("请填写协办任务。"))
        return d

    def perform(self) -> Case:
        d = self.cleaned_data
        assists = [(d["assist_department"], d["assist_task"])] if d.get("assist_department") else []
        return svc.case_assign(
            case=self.case,
            actor=self.user,
            version=d["version"],
            lead_department_id=d["lead_department"],
            assists=assists,
            note=self.note_text,
        )


class ResolveMove(MoveForm):
    outcome = forms.CharField(
        label=_("办理结果"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("请填写办理结果。")},
    )
    evidence = MultipleImageField(label=_("办理凭证（照片或文件，可选）"), required=False)
    field_map = {"evidence_ids": "evidence", "file": "evidence"}

    def perform(self) -> Case:
        d = self.cleaned_data
        stored: list[Attachment] = []
        try:
            for f in d.get("evidence") or []:
                stored.append(attachment_upload(actor=self.user, name=f.name, content=f.read()))
            return svc.case_resolve(
                case=self.case,
                actor=self.user,
                version=d["version"],
                outcome=d["outcome"],
                evidence_ids=[a.pk for a in stored],
            )
        except BaseException:
            # The attachments' rows roll back with the refused move; their files must go too.
            for attachment in stored:
                attachment.file.delete(save=False)
            raise


class RateMove(NoteMove):
    satisfaction = forms.TypedChoiceField(
        label=_("满意度"),
        coerce=int,
        widget=forms.RadioSelect,
        choices=[(5, _("非常满意")), (4, _("满意")), (3, _("基本满意")), (2, _("不满意")), (1, _("非常不满意"))],
        error_messages={"required": _("请选择满意度（1至5）。")},
    )

    def perform(self) -> Case:
        d = self.cleaned_data
        return svc.case_rate(
            case=self.case, actor=self.user, version=d["version"], satisfaction=d["satisfaction"], note=self.note_text
        )


class AddAssistMove(MoveForm):
    department = forms.TypedChoiceField(label=_("协办部门"), coerce=int)
    task = forms.CharField(label=_("协办任务"), max_length=500, error_messages={"required": _("请填写协办任务。")})
    field_map = {"department_id": "department"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A department whose task was done or waived can be asked again.
        working = self.case.assists.filter(status=AssistStatus.OPEN).values_list("department_id", flat=True)
        taken = set(working) | {self.case.lead_department_id}
        self.fields["department"].choices = [(pk, name) for pk, name in _departments() if pk not in taken]

    def perform(self) -> Case:
        d = self.cleaned_data
        return svc.case_add_assist(
            case=self.case, actor=self.user, version=d["version"], department_id=d["department"], task=d["task"]
        )


class CloseAssistMove(MoveForm):
    task_id = forms.TypedChoiceField(label=_("协办任务"), coerce=int)
    status = forms.ChoiceField(label=_("结果"), widget=forms.RadioSelect)
    note = _note(_("办理说明（免除时必填）"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = self.user
        tasks = list(self.case.assists.filter(status=AssistStatus.OPEN).select_related("department"))
        relations = actor_relations(self.case, user, assist_departments={t.department_id for t in tasks})
        own = [t for t in tasks if t.department_id == user.unit_id]
        owner = Who.OWNER in relations
        choices = own if not owner else tasks
        self.fields["task_id"].choices = [(t.pk, f"{t.department.name}：{t.task}") for t in choices]
        statuses = []
        if own:
            statuses.append((AssistStatus.DONE.value, gettext("已完成")))
        if owner:
            statuses.append((AssistStatus.WAIVED.value, gettext("免除（须说明理由）")))
        self.fields["status"].choices = statuses
        if not owner:
            self.fields["note"].label = gettext("办理说明")
        if len(statuses) == 1:
            self.fields["status"].initial = statuses[0][0]

    def perform(self) -> Case:
        d = self.cleaned_data
        return svc.case_close_assist(
            case=self.case,
            actor=self.user,
            version=d["version"],
            task_id=d["task_id"],
            status=d["status"],
            note=d.get("note") or "",
        )


class OverrideRiskMove(MoveForm):
    risk = forms.ChoiceField(label=_("调整为"), choices=_choices(Risk))
    note = _note(_("调整理由"), required=True)

    def perform(self) -> Case:
        d = self.cleaned_data
        return svc.case_override_risk(
            case=self.case, actor=self.user, version=d["version"], risk=d["risk"], note=d["note"]
        )


FACT_FLAGS = [
    ("group_incident", _("有群体性事件苗头")),
    ("public_place", _("发生在公共场所")),
    ("vulnerable_people", _("涉及老幼病残孕等弱势群体")),
    ("injury", _("有人员受伤")),
    ("danger_to_life", _("危及生命安全")),
    ("safety_hazard", _("存在安全隐患")),
]


class FactsMixin(PageForm):
    people_involved = forms.IntegerField(label=_("涉及人数"), required=False, min_value=0, max_value=1_000_000)
    property_loss = forms.IntegerField(label=_("财产损失（元）"), required=False, min_value=0, max_value=10**12)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in FACT_FLAGS:
            self.fields[name] = forms.BooleanField(label=label, required=False)

    def facts(self) -> dict:
        d = self.cleaned_data
        facts = {name: bool(d.get(name)) for name, _label in FACT_FLAGS}
        for name in ("people_involved", "property_loss"):
            if d.get(name) is not None:
                facts[name] = d[name]
        return facts


class UpdateFactsMove(FactsMixin, MoveForm):
    note = _note(_("说明（可选）"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, value in self.case.risk_facts.items():
            if name in self.fields:
                self.fields[name].initial = value

    def perform(self) -> Case:
        d = self.cleaned_data
        return svc.case_update_facts(
            case=self.case, actor=self.user, version=d["version"], facts=self.facts(), note=d.get("note") or ""
        )


class ExtensionMove(MoveForm):
    days = forms.IntegerField(label=_("延期天数（留空为允许的最长期限）"), required=False, min_value=1, max_value=365)
    note = _note(_("延期理由"), required=True)

    def perform(self) -> Case:
        d = self.cleaned_data
        return sla.case_request_extension(
            case=self.case, actor=self.user, version=d["version"], note=d["note"], days=d.get("days")
        )


class DecideMove(MoveForm):
    approve = forms.TypedChoiceField(
        label=_("审批意见"),
        widget=forms.RadioSelect,
        coerce=lambda v: v == "yes",
        choices=[("yes", _("批准")), ("no", _("驳回"))],
        error_messages={"required": _("请选择批准或驳回。")},
    )
    note = _note(_("审批说明（驳回时必填）"))

    def perform(self) -> Case:
        d = self.cleaned_data
        return sla.case_decide_request(
            case=self.case, actor=self.user, version=d["version"], approve=d["approve"], note=d.get("note") or ""
        )


MOVE_FORMS: dict[str, type[MoveForm]] = {
    "accept": NoteMove,
    "reject": ReasonMove,
    "triage": TriageMove,
    "assign": AssignMove,
    "start": NoteMove,
    "escalate": ReasonMove,
    "return": ReasonMove,
    "resolve": ResolveMove,
    "verify": NoteMove,
    "rate": RateMove,
    "reopen": ReasonMove,
    "close": NoteMove,
    "add_assist": AddAssistMove,
    "close_assist": CloseAssistMove,
    "override_risk": OverrideRiskMove,
    "update_facts": UpdateFactsMove,
    "comment": ReasonMove,
    "request_suspension": ReasonMove,
    "request_extension": ExtensionMove,
    "decide_request": DecideMove,
    "resume": NoteMove,
}
assert set(MOVE_FORMS) == set(MOVES), "every move of the transition table needs its form"


def move_form(action: str, case: Case, user, data=None, files=None) -> MoveForm:
    return MOVE_FORMS[action](data, files, action=action, case=case, user=user)


# --- the case page --------------------------------------------------------------------


def _visible(user, case_id: int) -> Case:
    try:
        return case_get_visible(user=user, case_id=case_id)
    except NotVisible:
        raise Http404(gettext("案件不存在或无权查看。")) from None


def _map_data(case: Case) -> dict | None:
    grid = case.grid
    if grid is None or not grid.boundary:
        return None
    return {
        "name": grid.name,
        "boundary": grid.boundary,
        "point": [case.lon, case.lat] if case.lon is not None else None,
    }


def _case_context(request: HttpRequest, case: Case, *, bound: MoveForm | None = None, notice=None) -> dict:
    # The moves offered are the detail's: those the deadline clock's state rules out are
    # already gone (sla.clock_moves_ruled_out). Nor is a move offered whose form would offer
    # nothing to choose (no department left to add, no task of mine to close).
    detail = case_detail(case, request.user)
    forms_by_action = {
        action: (bound if bound is not None and bound.action == action else move_form(action, case, request.user))
        for action in detail["allowed_actions"]
    }
    forms_by_action = {
        a: f
        for a, f in forms_by_action.items()
        if not any(isinstance(fl, forms.ChoiceField) and fl.required and not fl.choices for fl in f.fields.values())
    }
    return {
        "case": case,
        "d": detail,
        "moves": [(MOVES[a], f) for a, f in forms_by_action.items()],
        "open_action": bound.action if bound is not None else "",
        "map_data": _map_data(case),
        "notice": notice,
        "read_only": is_read_only(request.user),
    }


@require_GET
@staff_required
def case_page(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _visible(request.user, case_id)
    return render(request, CASE_TEMPLATE, _case_context(request, case))


@dataclass
class Notice:
    kind: str  # success | error | stale | warning
    text: str


def _panel(request: HttpRequest, case: Case, *, status: int, notice: Notice | None, bound=None) -> HttpResponse:
    context = _case_context(request, case, bound=bound, notice=notice)
    template = f"{CASE_TEMPLATE}#case_panel" if is_htmx(request) else CASE_TEMPLATE
    return render(request, template, context, status=status)


def _posted_version(request: HttpRequest) -> int | None:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return None


@require_POST
@staff_required
def case_move(request: HttpRequest, case_id: int, action: str) -> HttpResponse:
    """Make one move. Order of refusals: not visible (404), read-only (403), stale version
    (409 with the fresh case), not allowed now (403/409), bad input (422 with the message
    next to the field). HTMX gets the case panel back; a plain form post, the page."""
    if action not in MOVE_FORMS:
        raise Http404(gettext("没有这项操作。"))
    user = request.user
    case = _visible(user, case_id)
    if is_read_only(user):
        return _refused(request, case, gettext("当前角色为只读，不能进行此操作。"), status=403)
    version = _posted_version(request)
    if version is not None and version != case.version:
        return _stale(request, case, action=action)
    try:
        svc.check_move(case, user, action)
    except NotAllowed as error:
        return _refused(request, case, message_of(error), status=403)
    except Conflict as error:
        return _panel(request, case, status=409, notice=Notice("error", message_of(error)))
    form = move_form(action, case, user, request.POST, request.FILES)
    if not form.is_valid():
        return _panel(request, case, status=422, notice=None, bound=form)
    try:
        with transaction.atomic():
            updated = form.perform()
    except ConcurrentChange:
        return _stale(request, _visible(user, case_id), action=action)
    except InvalidInput as error:
        form.place_error(error)
        return _panel(request, _visible(user, case_id), status=422, notice=None, bound=form)
    except NotAllowed as error:
        return _refused(request, case, message_of(error), status=403)
    except DomainError as error:
        # Refused as it stands (a task still open, say): what was typed stays in the form.
        notice = Notice("error", message_of(error))
        return _panel(request, _visible(user, case_id), status=error.status, notice=notice, bound=form)
    done = gettext("已完成“%(move)s”。") % {"move": gettext(MOVES[action].label)}
    try:
        fresh = case_get_visible(user=user, case_id=updated.pk)
    except NotVisible:
        # The move handed the case beyond my scope: back to my queue.
        messages.success(request, done)
        if is_htmx(request):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = reverse("cases:queue")
            return response
        return redirect("cases:queue")
    if is_htmx(request):
        return _panel(request, fresh, status=200, notice=Notice("success", done))
    messages.success(request, done)
    return redirect("cases:case", case_id=case_id)


# The free text of a move's form, kept when the case changed under it. Every other field
# (facts, category, lane, departments) is filled afresh from the case as it now is: the
# old values would undo what the other person has just done.
_TYPED_FIELDS = ("note", "outcome", "task")


def _stale(request: HttpRequest, fresh: Case, *, action: str) -> HttpResponse:
    """The fresh case, with the move's form open at the fresh version, holding what was
    typed: sent again, it is a decision taken on the case as it now is (if the move is
    still possible at all)."""
    text = gettext("该案件已被他人修改，下面是最新情况，请确认后重新操作。")
    form = move_form(action, fresh, request.user)
    for name in _TYPED_FIELDS:
        if name in form.fields and request.POST.get(name):
            form.initial[name] = request.POST[name]
    return _panel(request, fresh, status=409, notice=Notice("stale", text), bound=form)


def _refused(request: HttpRequest, case: Case, text: str, *, status: int) -> HttpResponse:
    return _panel(request, case, status=status, notice=Notice("error", text))
