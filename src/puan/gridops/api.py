from __future__ import annotations

from ninja import Router

from puan.core.idempotency import run_once
from puan.gridops.models import PatrolCheckIn
from puan.gridops.schemas import CheckInIn, CheckInOut
from puan.gridops.selectors import patrol_checkins_of
from puan.gridops.services import patrol_check_in

router = Router(tags=["gridops"])


def checkin_out(c: PatrolCheckIn) -> dict:
    return {
        "id": c.pk,
        "grid": {"id": c.grid_id, "name": c.grid.name} if c.grid_id else None,
        "in_own_grid": c.in_own_grid,
        "lon": c.lon,
        "lat": c.lat,
        "accuracy_m": c.accuracy_m,
        "note": c.note,
        "checked_at": c.checked_at,
        "received_at": c.received_at,
    }


@router.post("/checkins", response={201: CheckInOut}, summary="Patrol check-in (grid workers)")
def checkin_create(request, payload: CheckInIn):
    """Send an `Idempotency-Key`: a phone that queued the check-in offline may send it
    more than once, and the first answer comes back each time."""
    status, body = run_once(
        key=request.headers.get("Idempotency-Key"),
        user=request.user,
        scope="patrol_checkin",
        payload=payload,
        work=lambda: patrol_check_in(
            actor=request.user,
            lon=payload.lon,
            lat=payload.lat,
            accuracy_m=payload.accuracy_m,
            note=payload.note,
            checked_at=payload.checked_at,
        ),
        answer=lambda c: (201, CheckInOut.model_validate(checkin_out(c)).model_dump(mode="json")),
    )
    return status, body


@router.get("/checkins", response=list[CheckInOut], summary="My latest patrol check-ins")
def checkin_list(request, limit: int = 20):
    return [checkin_out(c) for c in patrol_checkins_of(user=request.user, limit=max(1, min(limit, 100)))]
