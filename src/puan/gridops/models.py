"""Grid operations: for now, the patrol check-in a grid worker makes on the round."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class PatrolCheckIn(models.Model):
    """ "I was here at this time": a grid worker's position on patrol, resolved to a grid.

    `checked_at` is when the worker pressed the button, which may be well before the
    phone had a network again; `received_at` is when the server got it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="网格员", on_delete=models.PROTECT, related_name="patrol_checkins"
    )
    grid = models.ForeignKey(
        "org.Unit", verbose_name="所在网格", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    in_own_grid = models.BooleanField("在责任网格内", default=False)
    lon = models.FloatField("经度")
    lat = models.FloatField("纬度")
    accuracy_m = models.FloatField("定位精度(米)", null=True, blank=True)
    note = models.CharField("备注", max_length=300, blank=True)
    checked_at = models.DateTimeField("签到时间")
    received_at = models.DateTimeField("接收时间", auto_now_add=True)

    class Meta:
        verbose_name = "巡查签到"
        verbose_name_plural = "巡查签到"
        ordering = ["-checked_at", "-pk"]
        indexes = [
            models.Index(fields=["user", "checked_at"], name="patrol_user_time"),
            models.Index(fields=["grid", "checked_at"], name="patrol_grid_time"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.checked_at:%Y-%m-%d %H:%M}"
