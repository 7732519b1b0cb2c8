"""Every write of grid operations."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from puan.accounts.roles import Role
from puan.accounts.selectors import require_writer
from puan.core.device_time import device_time
from puan.core.errors import InvalidInput, NotAllowed
from puan.gridops.models import PatrolCheckIn
from puan.org import geo


@transaction.atomic
def patrol_check_in(
    *,
    actor,
    lon: float,
    lat: float,
    accuracy_m: float | None = None,
    note: str = "",
    checked_at: datetime | None = None,
    now: datetime | None = None,
) -> PatrolCheckIn:
    """Record where a grid worker was; the point is resolved to its grid and flagged when
    it lies outside the worker's own grid."""
    require_writer(actor)
    if Role.GRID_WORKER not in actor.role_codes:
        raise NotAllowed("只有网格员可以巡查签到。")
    now = now or timezone.now()
    checked_at = device_time(checked_at, now=now, field="checked_at", what="签到时间") if checked_at else now
    if accuracy_m is not None and accuracy_m < 0:
        raise InvalidInput("定位精度无效。", field="accuracy_m")
    hit = geo.locate(lon, lat)
    if hit is None:
        raise InvalidInput("该位置不在本区网格范围内。", field="lon")
    return PatrolCheckIn.objects.create(
        user=actor,
        grid_id=hit.grid_id,
        in_own_grid=hit.grid_id == actor.unit_id,
        lon=lon,
        lat=lat,
        accuracy_m=accuracy_m,
        note=note.strip()[:300],
        checked_at=checked_at,
    )
