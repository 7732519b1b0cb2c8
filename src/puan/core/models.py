from __future__ import annotations

from django.conf import settings
from django.db import models


class IdempotencyKey(models.Model):
    """The first answer to a request carrying an Idempotency-Key, replayed on retries."""

    key = models.CharField(max_length=100)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=50)
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "幂等请求记录"
        verbose_name_plural = "幂等请求记录"
        constraints = [models.UniqueConstraint(fields=["user", "scope", "key"], name="idempotency_unique")]

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
