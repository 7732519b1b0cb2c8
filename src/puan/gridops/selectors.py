"""Reads of grid operations, scoped to the user asking."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from puan.gridops.models import PatrolCheckIn


def patrol_checkins_of(*, user, limit: int = 20) -> list[PatrolCheckIn]:
    """The worker's own latest check-ins."""
    return list(PatrolCheckIn.objects.filter(user=user).select_related("grid").defer("grid__boundary")[:limit])


def patrol_count_since(*, user, since: datetime | None = None) -> int:
    """How many times the worker checked in since `since` (default: local midnight)."""
    since = since or timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return PatrolCheckIn.objects.filter(user=user, checked_at__gte=since).count()
