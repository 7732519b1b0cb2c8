from __future__ import annotations

from datetime import datetime

from ninja import Field

from puan.core.schema import InputSchema, Schema


class TokenIn(InputSchema):
    username: str = Field(..., min_length=1, max_length=150, description="登录名")
    password: str = Field(..., min_length=1, max_length=256, description="密码")


class TokenOut(Schema):
    token: str = Field(..., description="Bearer token; shown only once")
    expires_at: datetime = Field(..., description="When the token stops working")


class UnitBrief(Schema):
    id: int = Field(..., description="Unit id")
    name: str = Field(..., description="Unit name, e.g. 深井社区")
    level: str = Field(..., description="district | street | community | grid | department")
    path: list[str] = Field(..., description="Names from the district down to this unit")
    centroid: list[float] | None = Field(None, description="[lon, lat] of a point inside the unit")


class MeOut(Schema):
    username: str
    display_name: str
    roles: list[str] = Field(..., description="Role codes, e.g. dispatcher, grid_worker")
    read_only: bool = Field(..., description="True when every role is read-only (leaders)")
    sees_personal_data: bool = Field(..., description="Whether ID numbers and phones are shown unmasked")
    unit: UnitBrief | None


class PersonOut(Schema):
    id: int
    username: str
    display_name: str
    roles: list[str]
    unit_id: int | None
    phone: str = Field(..., description="Masked (138****5678) unless revealed")
    id_number: str = Field(..., description="Masked (110***********1234) unless revealed")
    revealed: bool = Field(..., description="True when the clear values are shown; such views are audited")
