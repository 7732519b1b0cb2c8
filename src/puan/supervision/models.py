"""Supervision by the district centre (统分结合): the centre directs, units handle.

An order — verification 核查, supervision 督办, reminder 催办, interview summons 约谈 or
notice 通报 — is addressed to one unit, covers zero or more cases, carries its own
deadline and required response, and keeps its own timeline (`SupervisionEvent`, seq
1..version, like a case's).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from puan.core.models import TimelineEvent


class OrderKind(models.TextChoices):
    VERIFICATION = "verification", "核查"
    SUPERVISION = "supervision", "督办"
    REMINDER = "reminder", "催办"
    INTERVIEW = "interview", "约谈"
    NOTICE = "notice", "通报"


# The letters of an order's code ("DB2026-0001"): the pinyin initials of the kind.
KIND_PREFIX: dict[str, str] = {
    OrderKind.VERIFICATION: "HC",
    OrderKind.SUPERVISION: "DB",
    OrderKind.REMINDER: "CB",
    OrderKind.INTERVIEW: "YT",
    OrderKind.NOTICE: "TB",
}

# Kinds that are about particular cases and so must cover at least one; an interview or a
# notice may be about a unit's work in general.
KINDS_NEEDING_CASES = frozenset({OrderKind.VERIFICATION, OrderKind.SUPERVISION, OrderKind.REMINDER})


class OrderState(models.TextChoices):
    ISSUED = "issued", "已下发"
    ACKNOWLEDGED = "acknowledged", "已签收"
    ESCALATED = "escalated", "超期已升级"
    RESPONDED = "responded", "已反馈"
    CLOSED = "closed", "已办结"


# States in which the addressed unit still owes something.
OPEN_ORDER_STATES = (OrderState.ISSUED, OrderState.ACKNOWLEDGED, OrderState.ESCALATED)
# States the deadline sweep escalates from (an escalated order is never escalated again).
ESCALATABLE_STATES = (OrderState.ISSUED, OrderState.ACKNOWLEDGED)


class SupervisionOrder(models.Model):
    kind = models.CharField("类型", max_length=16, choices=OrderKind.choices)
    code = models.CharField("文号", max_length=16, unique=True)
    unit = models.ForeignKey(
        "org.Unit", verbose_name="受文单位", on_delete=models.PROTECT, related_name="supervision_orders"
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="下发人", on_delete=models.PROTECT, related_name="+"
    )
    issuing_unit = models.ForeignKey("org.Unit", verbose_name="下发单位", on_delete=models.PROTECT, related_name="+")
    title = models.CharField("标题", max_length=200)
    instructions = models.TextField("工作要求", max_length=4000, blank=True)
    cases = models.ManyToManyField(
        "cases.Case", verbose_name="涉及案件", through="SupervisionOrderCase", related_name="supervision_orders"
    )
    deadline = models.DateTimeField("办理时限", null=True, blank=True)
    response_required = models.BooleanField("须反馈", default=True)
    # An interview summons says when and where the head is to appear.
    meeting_at = models.DateTimeField("约谈时间", null=True, blank=True)
    meeting_place = models.CharField("约谈地点", max_length=200, blank=True)

    state = models.CharField("状态", max_length=16, choices=OrderState.choices, default=OrderState.ISSUED)
    version = models.PositiveIntegerField("版本", default=1)
    response = models.TextField("反馈内容", max_length=4000, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="反馈人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    return_note = models.TextField("退回意见", max_length=2000, blank=True)
    return_count = models.PositiveSmallIntegerField("退回次数", default=0)
    closing_note = models.TextField("办结意见", max_length=2000, blank=True)

    issued_at = models.DateTimeField("下发时间", db_index=True)
    acknowledged_at = models.DateTimeField("签收时间", null=True, blank=True)
    escalated_at = models.DateTimeField("升级时间", null=True, blank=True)
    responded_at = models.DateTimeField("反馈时间", null=True, blank=True)
    returned_at = models.DateTimeField("退回时间", null=True, blank=True)
    closed_at = models.DateTimeField("办结时间", null=True, blank=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "督查督办"
        verbose_name_plural = "督查督办"
        ordering = ["-issued_at", "-pk"]
        indexes = [
            models.Index(fields=["unit", "state"], name="suporder_unit_state"),
            # The escalation sweep reads only open orders that require an answer, by deadline.
            models.Index(
                fields=["deadline"],
                name="suporder_escalatable",
                condition=Q(state__in=ESCALATABLE_STATES, response_required=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=OrderKind.values), name="suporder_kind_valid"),
            models.CheckConstraint(condition=Q(state__in=OrderState.values), name="suporder_state_valid"),
            models.CheckConstraint(
                condition=Q(response_required=False) | Q(deadline__isnull=False),
                name="suporder_deadline_when_response_required",
            ),
            models.CheckConstraint(
                condition=Q(kind=OrderKind.NOTICE) | Q(response_required=True),
                name="suporder_only_notices_skip_response",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class SupervisionOrderCase(models.Model):
    order = models.ForeignKey(SupervisionOrder, on_delete=models.CASCADE, related_name="order_cases")
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = "督办涉及案件"
        verbose_name_plural = "督办涉及案件"
        constraints = [models.UniqueConstraint(fields=["order", "case"], name="supordercase_unique")]

    def __str__(self) -> str:
        return f"{self.order_id} → {self.case_id}"


class SupervisionEvent(TimelineEvent):
    """One line of an order's timeline; `seq` runs 1..order.version without gaps."""

    order = models.ForeignKey(SupervisionOrder, on_delete=models.CASCADE, related_name="events")

    class Meta:
        verbose_name = "督办记录"
        verbose_name_plural = "督办记录"
        ordering = ["order_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["order", "seq"], name="supevent_seq_unique")]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.seq} {self.kind}"


class OrderCounter(models.Model):
    """The last number handed out per code prefix and year; the row lock serialises issuers."""

    prefix = models.CharField(max_length=4)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "督办文号计数"
        verbose_name_plural = "督办文号计数"
        constraints = [models.UniqueConstraint(fields=["prefix", "year"], name="ordercounter_unique")]

    def __str__(self) -> str:
        return f"{self.prefix}{self.year}: {self.last}"
