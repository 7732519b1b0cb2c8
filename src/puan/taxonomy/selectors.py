from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from puan.taxonomy.models import Category, ItemGroup


def taxonomy_tree(*, public_only: bool = False) -> QuerySet[ItemGroup]:
    categories = Category.objects.filter(is_active=True).select_related("lead_department")
    if public_only:
        categories = categories.filter(public=True)
    return ItemGroup.objects.prefetch_related(Prefetch("categories", queryset=categories))
