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
# for a minute, by code and by id.
def _with_department() -> QuerySet[Category]:
    return Category.objects.select_related("lead_department").defer("lead_department__boundary")


def _load_categories() -> tuple[dict[str, Category], dict[int, Category]]:
    categories = list(_with_department())
    return {c.code: c for c in categories}, {c.pk: c for c in categories}


_categories = TimedCopy(_load_categories, depends_on=["taxonomy.Category", "org.Unit"])


def category_by_code(code: str) -> Category | None:
    """The category with this code (active or not), from the process's copy; one created a
    moment ago is read from the database."""
    found = _categories.get()[0].get(code)
    return found if found is not None else _with_department().filter(code=code).first()


def category_by_pk(pk: int) -> Category | None:
    """`category_by_code`, by id."""
    found = _categories.get()[1].get(pk)
    return found if found is not None else _with_department().filter(pk=pk).first()
