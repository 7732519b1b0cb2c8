"""Loading and editing the taxonomy."""

from __future__ import annotations

import json
from pathlib import Path

from django.db import transaction

from puan.core.errors import InvalidInput
from puan.org.models import Unit, UnitLevel
from puan.taxonomy.models import TIER_BY_NAME, Category, ItemGroup, Lane

DEFAULT_TAXONOMY_FILE = Path(__file__).parent / "data" / "taxonomy.json"


@transaction.atomic
def taxonomy_load(*, path: Path = DEFAULT_TAXONOMY_FILE) -> tuple[int, int]:
    """Create or update groups and categories by code (re-running changes nothing).

    Lead departments are looked up by their unit code, `dept.<code>`.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    departments = {u.code: u for u in Unit.objects.filter(level=UnitLevel.DEPARTMENT)}
    groups = 0
    categories = 0
    for g_order, g in enumerate(data["groups"]):
        group, _ = ItemGroup.objects.update_or_create(
            code=g["code"], defaults={"name": g["name"], "name_en": g.get("name_en", ""), "sort_order": g_order}
        )
        groups += 1
        for c_order, c in enumerate(g["categories"]):
            dept = departments.get(f"dept.{c['lead_department']}")
            if dept is None:
                raise InvalidInput(
                    f"事项 {c['code']} 的牵头部门 {c['lead_department']} 不存在，请先建立该部门。",
                    field="lead_department",
                )
            if c["default_lane"] not in Lane.values or c["first_tier"] not in TIER_BY_NAME:
                raise InvalidInput(f"事项 {c['code']} 的默认通道或首办层级无效。", field="default_lane")
            Category.objects.update_or_create(
                code=c["code"],
                defaults={
                    "group": group,
                    "name": c["name"],
                    "name_en": c.get("name_en", ""),
                    "description": c.get("description", ""),
                    "keywords": c.get("keywords", []),
                    "public": bool(c.get("public", True)),
                    "default_lane": c["default_lane"],
                    "first_tier": TIER_BY_NAME[c["first_tier"]],
                    "lead_department": dept,
                    "sort_order": c_order,
                },
            )
            categories += 1
    return groups, categories
