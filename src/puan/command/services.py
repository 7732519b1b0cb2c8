"""What the command centre does, as against what it reads (`selectors`)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from puan.cases.models import CommandAlert
from puan.command import selectors as sel


@transaction.atomic
def alert_acknowledge(*, user, alert_id: int) -> CommandAlert:
    """Sign for a red case's alert: whoever in the command centre saw it and took it up,
    and when. The first signature stands; signing again changes nothing. It is not a
    move of the case, so the case's version and timeline are untouched."""
    alert = sel.alert_for(user=user, alert_id=alert_id, for_update=True)
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = timezone.now(), user
        alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return alert
