from __future__ import annotations

from datetime import datetime

from ninja import Field

from puan.core.schema import InputSchema, Schema


class CheckInIn(InputSchema):
    lon: float = Field(..., ge=-180, le=180, description="Longitude (WGS-84)")
    lat: float = Field(..., ge=-90, le=90, description="Latitude (WGS-84)")
    accuracy_m: float | None = Field(None, ge=0, description="GPS accuracy in metres")
    note: str = Field("", max_length=300)
    checked_at: datetime | None = Field(
        None, description="When the worker checked in (a phone that was offline sends it later); default: now"
    )


class CheckInOut(Schema):
    id: int
    grid: dict | None = Field(..., description="{id, name} of the grid the point lies in")
    in_own_grid: bool = Field(..., description="True when the point lies in the worker's own grid")
    lon: float
    lat: float
    accuracy_m: float | None = Field(..., description="GPS accuracy in metres, as the phone reported it")
    note: str
    checked_at: datetime = Field(..., description="When the worker checked in")
    received_at: datetime = Field(..., description="When the server received it (later if the phone was offline)")
