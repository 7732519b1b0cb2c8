"""Times a device reports: a report or a check-in queued on a phone without network
arrives later than it was made, and carries the moment the worker pressed the button."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from puan.core.errors import InvalidInput

# Older than this a queued item is no longer taken as it stands, and a time further in the
# future than a phone clock's usual drift is a wrong clock.
MAX_DELAY = timedelta(days=7)
CLOCK_SKEW = timedelta(minutes=5)


def device_time(value: datetime, *, now: datetime, field: str, what: str) -> datetime:
    """`value` as an aware time, or a 422 naming `field`. A time without a zone is read as
    local time (the district's)."""
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value > now + CLOCK_SKEW:
        raise InvalidInput(f"{what}晚于当前时间，请检查手机时间。", field=field)
    if value < now - MAX_DELAY:
        raise InvalidInput(f"{what}早于 7 天前，不再接收。", field=field)
    return value
