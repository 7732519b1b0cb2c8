from __future__ import annotations

from ninja import Field

from puan.core.schema import Schema


class CategoryOut(Schema):
    code: str = Field(..., description="Stable code, e.g. G05-01")
    name: str
    name_en: str
    description: str
    keywords: list[str]
    public: bool = Field(..., description="Citizens may report it through public channels")
    default_lane: str = Field(..., description="urgent | simple | complex | difficult")
    first_tier: int = Field(..., description="1 community, 2 street, 3 district")
    lead_department: str = Field(..., description="Code of the lead department unit")
    lead_department_name: str


class GroupOut(Schema):
    code: str
    name: str
    name_en: str
    categories: list[CategoryOut]
