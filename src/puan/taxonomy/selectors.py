from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from puan.core.cache import TimedCopy
from puan.taxonomy.models import Category, ItemGroup


def taxonomy_tree(*, public_only: bool = False) -> QuerySet[ItemGroup]:
    categories = Category.objects.filter(is_active=True).select_related("lead_department")
    if public_only:
        categories = categories.filter(public=True)
    return ItemGroup.objects.prefetch_related(Prefetch("categories", queryset=categories))


# Read on every intake: each process keeps the categories (with their lead departments)
# for a minute.
def _load_categories() -> dict[str, Category]:
    return {c.code: c for c in Category.objects.select_related("lead_department").defer("lead_department__boundary")}


_categories = TimedCopy(_load_categories, depends_on=["taxonomy.Category", "org.Unit"])


def category_by_code(code: str) -> Category | None:
    """The category with this code (active or not), from the process's copy; one created a
    moment ago is read from the database."""
    found = _categories.get().get(code)
    if found is None:
        found = Category.objects.select_related("lead_department").defer("lead_department__boundary")
        found = found.filter(code=code).first()
    return found
