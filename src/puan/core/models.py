from __future__ import annotations

import functools

from django.conf import settings
from django.db import models

from puan.core.rendering import ApiJSONEncoder
from puan.core.statements import OneRowInsert, new_row


class TimelineEvent(models.Model):
    """One line of a timeline (a case's, a supervision order's): who did what, when, from
    which state to which. `seq` runs 1..version of its subject without gaps: the subject's
    version moves in the same transaction as the event is written."""

    seq = models.PositiveIntegerField("序号")
    kind = models.CharField("动作", max_length=32)
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16, blank=True)
    # Timelines are read by their subject, never by who acted, and accounts and units are
    # retired rather than deleted: no index on these to keep up on every step.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="操作人", null=True, blank=True, on_delete=models.PROTECT, db_index=False
    )
    actor_unit = models.ForeignKey(
        "org.Unit",
        verbose_name="操作单位",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    note = models.TextField("说明", blank=True)
    data = models.JSONField("数据", default=dict, blank=True)
    at = models.DateTimeField("时间")

    class Meta:
        abstract = True

    @classmethod
    def build(cls, *, actor, now, note="", data=None, actor_unit=None, actor_unit_id=None, **step):
        """One step, not yet written. `step` names the subject (case=…, order=…) and the
        step itself (seq, kind, from_state, to_state, …). No actor, or an anonymous one, is
        the system; `actor_unit` (a Unit) instead of `actor_unit_id` keeps the unit on the
        event, so its name can be shown without reading it back."""
        unit = {"actor_unit": actor_unit} if actor_unit is not None else {"actor_unit_id": actor_unit_id}
        return new_row(
            cls,
            actor=actor if actor is not None and actor.is_authenticated else None,
            note=note,
            data=data or {},
            at=now,
            **unit,
            **step,
        )

    def as_row(self) -> dict:
        """The step as the API shows it: who by name (None for the system), not by id."""
        return {
            "seq": self.seq,
            "kind": self.kind,
            "from_state": self.from_state,
            "to_state": self.to_state,
            "actor": str(self.actor) if self.actor_id else None,
            "actor_unit": self.actor_unit.name if self.actor_unit_id else None,
            "note": self.note,
            "data": self.data,
            "at": self.at,
        }

    @classmethod
    @functools.cache
    def rows(cls) -> OneRowInsert:
        """The INSERT of this timeline's rows, built once per model: timelines are written
        on every move of every case."""
        return OneRowInsert(cls)

    @classmethod
    def record(cls, **step):
        """Write one step (see `build`)."""
        return cls.rows()(cls.build(**step))


class IdempotencyKey(models.Model):
    """The first answer to a request carrying an Idempotency-Key, replayed on retries."""

    key = models.CharField(max_length=100)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=50)
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    # As the API writes it: an answer may hold times not yet turned into text.
    response = models.JSONField(encoder=ApiJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "幂等请求记录"
        verbose_name_plural = "幂等请求记录"
        constraints = [
            models.UniqueConstraint(fields=["user", "scope", "key"], name="idempotency_unique"),
            # Without a user (a citizen's form) the constraint above would not hold: in
            # both databases two NULLs are not equal.
            models.UniqueConstraint(
                fields=["scope", "key"], condition=models.Q(user__isnull=True), name="idempotency_unique_anonymous"
            ),
        ]

    def __str__(self) -> str:
        return self.key


class BenchRow(models.Model):
    """A bare row that `POST /api/v1/bench/row` commits: the cost of one write transaction,
    the yardstick bench/bench_intake.py holds intake against. Empty outside benchmarks."""

    note = models.CharField("说明", max_length=32, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "基准测试记录"
        verbose_name_plural = "基准测试记录"

    def __str__(self) -> str:
        return f"{self.pk} {self.note}"


class RateCounter(models.Model):
    """Requests seen in one fixed one-minute window for one bucket (an API key, a client
    system, an address digest). Kept in the database so every worker process counts
    against the same number; `core.ratelimit` reads and writes it."""

    bucket = models.CharField(max_length=80)
    minute = models.BigIntegerField()  # minutes since the Unix epoch: the window's number
    count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "限流计数"
        verbose_name_plural = "限流计数"
        constraints = [
            models.UniqueConstraint(fields=["bucket", "minute"], name="ratecounter_bucket_minute"),
            models.CheckConstraint(condition=models.Q(count__gte=0), name="ratecounter_count_valid"),
        ]
        indexes = [models.Index(fields=["minute"], name="ratecounter_minute")]

    def __str__(self) -> str:
        return f"{self.bucket}@{self.minute}={self.count}"
