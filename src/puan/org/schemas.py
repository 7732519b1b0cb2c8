from __future__ import annotations

from ninja import Field

from puan.core.schema import Schema


class UnitOut(Schema):
    id: int
    code: str = Field(..., description="Stable code, e.g. 440112008003 for a community")
    name: str
    level: str = Field(..., description="district | street | community | grid | department")
    kind: str = Field(..., description="street | town | community | village | grid | department | mediation …")
    parent_id: int | None
    stationing: str = Field(..., description="Departments: permanent | rotating | on_call (常驻/轮驻/随驻)")
    centroid: list[float] | None = Field(None, description="[lon, lat]")


class UnitDetailOut(UnitOut):
    path: list[str] = Field(..., description="Names from the district down to this unit")
    children: int = Field(..., description="Number of active child units")
    boundary: dict | None = Field(None, description="GeoJSON geometry (grids; others when set)")


class UnitPage(Schema):
    items: list[UnitOut]
    count: int


class LocateOut(Schema):
    inside: bool = Field(..., description="False when the point is outside the district")
    grid: UnitOut | None = None
    community: UnitOut | None = None
    street: UnitOut | None = None
    district: UnitOut | None = None
