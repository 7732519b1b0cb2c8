"""The case spine: everything taken in once, graded, routed, handled, verified, rated and
closed, with every step on the case's timeline."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from puan.core.models import TimelineEvent
from puan.core.pii import EncryptedTextField
from puan.taxonomy.models import Lane, Tier


class CaseKind(models.TextChoices):
    EVENT = "event", "事件"
    DISPUTE = "dispute", "矛盾纠纷"
    PETITION = "petition", "信访"
    HAZARD = "hazard", "隐患"
    APPEAL = "appeal", "诉求"
    EMERGENCY = "emergency", "突发事件"


class Channel(models.TextChoices):
    PATROL = "patrol", "网格员巡查"
    APP = "app", "群众App/小程序"
    HOTLINE = "hotline", "12345热线"
    WINDOW = "window", "窗口来访"
    LETTER = "letter", "来信"
    ONLINE = "online", "网上信访"
    IOT = "iot", "物联感知"
    VIDEO = "video", "视频智能分析"
    REFERRAL = "referral", "部门移交"


class CaseState(models.TextChoices):
    REGISTERED = "registered", "已登记"
    ACCEPTED = "accepted", "已受理"
    REJECTED = "rejected", "不予受理"
    TRIAGED = "triaged", "已分流"
    ASSIGNED = "assigned", "已交办"
    IN_PROGRESS = "in_progress", "处置中"
    ESCALATED = "escalated", "已上报"
    RETURNED = "returned", "已退回"
    RESOLVED = "resolved", "已办结"
    VERIFIED = "verified", "已核查"
    RATED = "rated", "已评价"
    CLOSED = "closed", "已归档"
    REOPENED = "reopened", "已重启"


# States in which a case still needs work (for queues, duplicates and KPIs).
OPEN_STATES = (
    CaseState.REGISTERED,
    CaseState.ACCEPTED,
    CaseState.TRIAGED,
    CaseState.ASSIGNED,
    CaseState.IN_PROGRESS,
    CaseState.ESCALATED,
    CaseState.RETURNED,
    CaseState.REOPENED,
)
# Dealt with: resolved (办结) and every state after it.
DONE_STATES = (CaseState.RESOLVED, CaseState.VERIFIED, CaseState.RATED, CaseState.CLOSED)
FINAL_STATES = (CaseState.REJECTED, CaseState.CLOSED)


class Risk(models.TextChoices):
    RED = "red", "红色"
    ORANGE = "orange", "橙色"
    YELLOW = "yellow", "黄色"


RISK_RANK = {Risk.RED: 0, Risk.ORANGE: 1, Risk.YELLOW: 2}


def _place_unit(verbose_name: str) -> models.ForeignKey:
    """One of the units a case's place resolves to (grid, community, street)."""
    return models.ForeignKey(
        "org.Unit",
        verbose_name=verbose_name,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )


class Case(models.Model):
    # Unique by a constraint of the model (below), not `unique=True`: on PostgreSQL the
    # field's own flag adds a second index for LIKE, which no query here uses.
    tracking_code = models.CharField("查询码", max_length=20)
    kind = models.CharField("类型", max_length=16, choices=CaseKind.choices)
    channel = models.CharField("来源渠道", max_length=16, choices=Channel.choices)
    # Foreign keys whose column leads a composite index below carry no index of their own.
    category = models.ForeignKey("taxonomy.Category", verbose_name="事项分类", on_delete=models.PROTECT, db_index=False)
    title = models.CharField("标题", max_length=200)
    description = models.TextField("描述", max_length=4000)

    lon = models.FloatField("经度", null=True, blank=True)
    lat = models.FloatField("纬度", null=True, blank=True)
    address = models.CharField("地址", max_length=300, blank=True)
    # No query looks cases up by these units (areas are `area_path` ranges) and units are
    # retired, not deleted: no index to keep up on every write.
    grid = _place_unit("网格")
    community = _place_unit("社区/村")
    street = _place_unit("街道/镇")
    # Where the case happened, as a unit path: unit-wide scopes see cases of their area.
    area_path = models.CharField("所在区域路径", max_length=200)

    risk = models.CharField("风险等级", max_length=8, choices=Risk.choices)
    risk_reasons = models.JSONField("分级理由", default=list)
    risk_facts = models.JSONField("研判要素", default=dict)
    risk_override = models.CharField("人工调整理由", max_length=500, blank=True)
    lane = models.CharField("办理通道", max_length=16, choices=Lane.choices)
    tier = models.PositiveSmallIntegerField("当前层级", choices=Tier.choices)
    # Queues find cases by `owner_path`, never by this id.
    owner_unit = models.ForeignKey(
        "org.Unit", verbose_name="责任单位", on_delete=models.PROTECT, related_name="owned_cases", db_index=False
    )
    # The owner unit's path: queues ("what my scope owns") are one range scan.
    owner_path = models.CharField("责任单位路径", max_length=200)
    lead_department = models.ForeignKey(
        "org.Unit",
        verbose_name="牵头部门",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="led_cases",
        db_index=False,
    )
    state = models.CharField("状态", max_length=16, choices=CaseState.choices, default=CaseState.REGISTERED)
    version = models.PositiveIntegerField("版本", default=1)

    respond_due_at = models.DateTimeField("响应时限", null=True, blank=True)
    resolve_due_at = models.DateTimeField("办结时限", null=True, blank=True)
    # The deadline clock (see puan.sla): when the current tier's clock started, the 50% and
    # 80% marks, the next moment the sweep must look at the case, and how far it has got.
    sla_started_at = models.DateTimeField("计时起点", null=True, blank=True)
    sla_mark_50_at = models.DateTimeField("50%提醒时点", null=True, blank=True)
    sla_mark_80_at = models.DateTimeField("80%提醒时点", null=True, blank=True)
    next_sla_at = models.DateTimeField("下次时限检查", null=True, blank=True)
    sla_stage = models.PositiveSmallIntegerField("时限阶段", default=0)
    is_overdue = models.BooleanField("已超期", default=False)
    overdue_at = models.DateTimeField("超期时间", null=True, blank=True)
    suspended_at = models.DateTimeField("挂起时间", null=True, blank=True)
    extended = models.BooleanField("已延期", default=False)

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="登记人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reported_cases",
        db_index=False,
    )
    reporter_name = models.CharField("反映人", max_length=50, blank=True)
    reporter_phone = EncryptedTextField("反映人电话", blank=True, default="")
    reporter_phone_index = models.CharField(max_length=32, blank=True, default="")
    reporter_id_number = EncryptedTextField("反映人身份证号", blank=True, default="")
    reporter_id_index = models.CharField(max_length=32, blank=True, default="")

    duplicate_of = models.ForeignKey(
        "self",
        verbose_name="重复于",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="duplicates",
        db_index=False,
    )
    report_count = models.PositiveIntegerField("同事项报告次数", default=1)
    handled_on_spot = models.BooleanField("现场处置", default=False)
    outcome = models.TextField("办理结果", blank=True)
    satisfaction = models.PositiveSmallIntegerField("满意度", null=True, blank=True)

    created_at = models.DateTimeField("登记时间", db_index=True)
    # When the reporter saw it, when that was before registration: a report queued on a
    # phone without network. Deadlines still run from registration.
    observed_at = models.DateTimeField("发现时间", null=True, blank=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    triaged_at = models.DateTimeField(null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    reopened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "案件"
        verbose_name_plural = "案件"
        indexes = [
            # Scopes read areas as ranges of paths (`subtree_q`), never with LIKE: declared
            # here, the index comes without the LIKE twin `db_index=True` adds on PostgreSQL,
            # one index fewer to keep up on every write.
            models.Index(fields=["area_path"], name="case_area_path"),
            models.Index(fields=["owner_path", "state"], name="case_owner_state"),
            models.Index(fields=["state", "resolve_due_at"], name="case_state_due"),
            # Intake's duplicate check: open cases of a category in a narrow band of latitude,
            # a few rows however many cases of the category are open.
            models.Index(fields=["category", "state", "lat"], name="case_category_place"),
            models.Index(fields=["lead_department", "state"], name="case_lead_state"),
            # Repeat reporters by blind index. Most reports come without an ID number and
            # many without a phone: the empty values, which nobody looks up, stay out.
            models.Index(
                fields=["reporter_phone_index"], name="case_reporter_phone", condition=Q(reporter_phone_index__gt="")
            ),
            models.Index(fields=["reporter_id_index"], name="case_reporter_id", condition=Q(reporter_id_index__gt="")),
            models.Index(fields=["reporter", "created_at"], name="case_reporter"),
            # The sweep reads only cases with something due: its cost follows the number due.
            models.Index(fields=["next_sla_at"], name="case_next_sla", condition=Q(next_sla_at__isnull=False)),
        ]
        constraints = [
            models.UniqueConstraint(fields=["tracking_code"], name="case_tracking_code_unique"),
            models.CheckConstraint(condition=Q(state__in=CaseState.values), name="case_state_valid"),
            models.CheckConstraint(condition=Q(risk__in=Risk.values), name="case_risk_valid"),
            models.CheckConstraint(condition=Q(tier__gte=1, tier__lte=3), name="case_tier_valid"),
            models.CheckConstraint(
                condition=Q(satisfaction__isnull=True) | Q(satisfaction__gte=1, satisfaction__lte=5),
                name="case_satisfaction_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tracking_code} {self.title}"

    def past_due(self, now) -> bool:
        """Its resolution deadline has passed on its clock (see `deadline_passed`)."""
        return deadline_passed(self.resolve_due_at, self.suspended_at, now)


def deadline_passed(due, suspended_at, moment) -> bool:
    """The resolution deadline `due` had passed by `moment` on the case's clock, which
    stands still from `suspended_at` on (`past_due_q` is the same rule in SQL, at now)."""
    if due is None:
        return False
    clock = suspended_at if suspended_at is not None and suspended_at < moment else moment
    return clock > due


def past_due_q(now) -> Q:
    """Cases whose resolution deadline has passed on their clock: before `now`, or before
    the moment a suspended clock stopped. The first term alone already reaches them through
    a (state, deadline) index; the second only sets aside the suspended ones."""
    return Q(resolve_due_at__lt=now) & (Q(suspended_at__isnull=True) | Q(resolve_due_at__lt=F("suspended_at")))


class CaseEvent(TimelineEvent):
    """One line of a case's timeline: who did what, when, from which state to which."""

    # Indexed by the (case, seq) unique constraint.
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events", db_index=False)
    tier = models.PositiveSmallIntegerField("层级")
    at = models.DateTimeField("时间", db_index=True)

    class Meta:
        verbose_name = "办理记录"
        verbose_name_plural = "办理记录"
        ordering = ["case_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["case", "seq"], name="caseevent_seq_unique")]
        indexes = [models.Index(fields=["kind", "at"], name="caseevent_kind_at")]

    def __str__(self) -> str:
        return f"{self.case_id}#{self.seq} {self.kind}"

    def as_row(self) -> dict:
        return {**super().as_row(), "tier": self.tier}


class PartyRole(models.TextChoices):
    APPLICANT = "applicant", "申请人"
    RESPONDENT = "respondent", "被申请人"
    OTHER = "other", "其他当事人"
    # A later reporter of the same matter, whose report joined the case (the case's own
    # reporter is on the case).
    REPORTER = "reporter", "反映人"


class CaseParty(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="parties")
    role = models.CharField("身份", max_length=16, choices=PartyRole.choices)
    name = models.CharField("姓名/名称", max_length=100)
    phone = EncryptedTextField("电话", blank=True, default="")
    phone_index = models.CharField(max_length=32, blank=True, default="")
    id_number = EncryptedTextField("身份证号", blank=True, default="")
    id_index = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        verbose_name = "当事人"
        verbose_name_plural = "当事人"
        # A repeat reporter or petitioner, by blind index, as on the case; most parties come
        # without an ID number and many without a phone, and nobody looks up the empty value.
        indexes = [
            models.Index(fields=["phone_index"], name="party_phone", condition=Q(phone_index__gt="")),
            models.Index(fields=["id_index"], name="party_id", condition=Q(id_index__gt="")),
        ]

    def __str__(self) -> str:
        return self.name


class AssistStatus(models.TextChoices):
    OPEN = "open", "办理中"
    DONE = "done", "已完成"
    WAIVED = "waived", "已免除"


class AssistTask(models.Model):
    """An assisting department's share of a joint case (联合处置)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="assists")
    department = models.ForeignKey("org.Unit", verbose_name="协办部门", on_delete=models.PROTECT, related_name="+")
    task = models.CharField("任务", max_length=500)
    status = models.CharField("状态", max_length=8, choices=AssistStatus.choices, default=AssistStatus.OPEN)
    note = models.TextField("办理说明", blank=True)
    created_at = models.DateTimeField("交办时间")
    closed_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        verbose_name = "协办任务"
        verbose_name_plural = "协办任务"
        constraints = [
            models.UniqueConstraint(fields=["case", "department"], name="assist_one_per_department"),
            models.CheckConstraint(condition=Q(status__in=AssistStatus.values), name="assist_status_valid"),
        ]
        indexes = [models.Index(fields=["department", "status"], name="assist_department_status")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.department_id} {self.status}"


class Attachment(models.Model):
    # Uploaded first (a phone may upload photos before it files the report), then bound.
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField("文件", upload_to="cases/%Y/%m/")
    original_name = models.CharField("原文件名", max_length=200)
    content_type = models.CharField("类型", max_length=100)
    size = models.PositiveIntegerField("大小")
    sha256 = models.CharField(max_length=64)
    purpose = models.CharField("用途", max_length=16, default="evidence")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField("上传时间", auto_now_add=True)

    class Meta:
        verbose_name = "附件"
        verbose_name_plural = "附件"

    def __str__(self) -> str:
        return self.original_name


class CommandAlert(models.Model):
    """A red case lights up the command centre until somebody acknowledges it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=32, default="red_case")
    message = models.CharField(max_length=300)
    created_at = models.DateTimeField(db_index=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = "指挥中心告警"
        verbose_name_plural = "指挥中心告警"

    def __str__(self) -> str:
        return self.message

    @classmethod
    def for_red_case(cls, case: Case, now) -> CommandAlert:
        """The alert a case raises on turning red (not yet written)."""
        return cls(case=case, message=f"红色预警：{case.title}", created_at=now)


class RiskRule(models.Model):
    """One row of the configurable grading table: when `fact` meets `threshold`, the case
    is at least `colour`, for the reason given. The highest colour any rule gives wins."""

    class Dimension(models.TextChoices):
        IMPACT = "impact", "社会影响"
        HARM = "harm", "危害程度"
        TREND = "trend", "发展态势"

    code = models.CharField("编码", max_length=32, unique=True)
    dimension = models.CharField("维度", max_length=8, choices=Dimension.choices)
    fact = models.CharField("研判要素", max_length=32)
    threshold = models.PositiveIntegerField("阈值", default=1)
    colour = models.CharField("等级", max_length=8, choices=Risk.choices)
    reason = models.CharField("理由", max_length=200)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "风险分级规则"
        verbose_name_plural = "风险分级规则"
        ordering = ["dimension", "code"]

    def __str__(self) -> str:
        return f"{self.code} → {self.colour}"
