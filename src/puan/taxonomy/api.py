from __future__ import annotations

from ninja import Router

from puan.taxonomy.schemas import GroupOut
from puan.taxonomy.selectors import taxonomy_tree

router = Router(tags=["taxonomy"])


@router.get("", response=list[GroupOut], summary="The 16 item groups and their categories")
def taxonomy(request, public: bool = False):
    return [
        {
            "code": g.code,
            "name": g.name,
            "name_en": g.name_en,
            "categories": [
                {
                    "code": c.code,
                    "name": c.name,
                    "name_en": c.name_en,
                    "description": c.description,
                    "keywords": c.keywords,
                    "public": c.public,
                    "default_lane": c.default_lane,
                    "first_tier": c.first_tier,
                    "lead_department": c.lead_department.code,
                    "lead_department_name": c.lead_department.name,
                }
                for c in g.categories.all()
            ],
        }
        for g in taxonomy_tree(public_only=public)
    ]
