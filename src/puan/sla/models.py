"""Deadlines that act by themselves: the working calendar, the SLA policies, and the
requests to suspend a case's clock or extend its deadline."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from puan.cases.models import CaseKind, Risk
from puan.taxonomy.models import Lane, Tier


class DayKind(models.TextChoices):
    HOLIDAY = "holiday", "放假"
    WORKDAY = "workday", "调休上班"


class CalendarDay(models.Model):
    """An exception to "Monday to Friday are working days": a holiday on a weekday, or a
    make-up working day on a weekend."""

    date = models.DateField("日期", unique=True)
    kind = models.CharField("类型", max_length=8, choices=DayKind.choices)
    name = models.CharField("名称", max_length=50, blank=True)
    year = models.PositiveSmallIntegerField("年份", db_index=True)
    provisional = models.BooleanField("暂定", default=False)

    class Meta:
        verbose_name = "工作日历"
        verbose_name_plural = "工作日历"
        ordering = ["date"]
        constraints = [models.CheckConstraint(condition=Q(kind__in=DayKind.values), name="calendarday_kind_valid")]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.name}"


class SlaPolicy(models.Model):
    """Response and resolution time for cases matching lane × tier × colour (× kind).
    A blank dimension matches anything; the most specific matching policy wins."""

    name = models.CharField("名称", max_length=100)
    lane = models.CharField("办理通道", max_length=16, choices=Lane.choices, blank=True)
    tier = models.PositiveSmallIntegerField("层级", choices=Tier.choices, null=True, blank=True)
    risk = models.CharField("风险等级", max_length=8, choices=Risk.choices, blank=True)
    kind = models.CharField("案件类型", max_length=16, choices=CaseKind.choices, blank=True)
    respond_minutes = models.PositiveIntegerField("响应时限(分钟)")
    resolve_minutes = models.PositiveIntegerField("办结时限(分钟)")
    working_time = models.BooleanField("按工作日计时", default=True)
    extension_minutes = models.PositiveIntegerField("可延期时长(分钟)", default=0)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "时限策略"
        verbose_name_plural = "时限策略"
        ordering = ["lane", "tier", "risk", "kind"]
        constraints = [
            models.CheckConstraint(condition=Q(resolve_minutes__gt=0), name="slapolicy_resolve_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class RequestKind(models.TextChoices):
    SUSPEND = "suspend", "挂起"
    EXTEND = "extend", "延期"


class RequestState(models.TextChoices):
    PENDING = "pending", "待审批"
    APPROVED = "approved", "已批准"
    REJECTED = "rejected", "已驳回"


class SlaRequest(models.Model):
    """A handler's request to suspend the clock or extend the deadline, and its approval."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="sla_requests")
    kind = models.CharField("类型", max_length=8, choices=RequestKind.choices)
    reason = models.TextField("理由")
    minutes = models.PositiveIntegerField("延期时长(分钟)", default=0)
    state = models.CharField("状态", max_length=8, choices=RequestState.choices, default=RequestState.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField("申请时间")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField("审批时间", null=True, blank=True)
    decision_note = models.TextField("审批意见", blank=True)

    class Meta:
        verbose_name = "挂起/延期申请"
        verbose_name_plural = "挂起/延期申请"
        constraints = [
            # At most one pending request per case at a time.
            models.UniqueConstraint(
                fields=["case"], condition=Q(state="pending"), name="slarequest_one_pending_per_case"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_kind_display()} {self.get_state_display()}"
