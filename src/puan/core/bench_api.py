"""Yardsticks for bench/bench_intake.py, routed only when `PUAN_BENCH_ENDPOINTS` is on.

Both go through the same stack as intake (middleware, ninja, the API's bearer/session
auth, JSON in and out), so the benchmark's ratios isolate what intake itself costs:
`noop` touches no table, `row` commits one bare row in its own transaction.
"""

from __future__ import annotations

from django.db import transaction
from ninja import Field, Router, Schema

from puan.core.models import BenchRow
from puan.core.schema import InputSchema

# No auth of its own: the router inherits the API's (the same classes intake uses).
router = Router(tags=["bench"])


class BenchIn(InputSchema):
    note: str = Field("", max_length=32)
    n: int = Field(0, ge=0)


class BenchRowOut(Schema):
    id: int
    note: str


@router.post("/noop", response=BenchIn, include_in_schema=False)
def bench_noop(request, payload: BenchIn):
    return payload


@router.post("/row", response={201: BenchRowOut}, include_in_schema=False)
def bench_row(request, payload: BenchIn):
    with transaction.atomic():
        row = BenchRow.objects.create(note=payload.note)
    return 201, {"id": row.pk, "note": row.note}
