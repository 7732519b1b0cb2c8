from django.apps import AppConfig
from django.db import transaction
from django.db.models.signals import post_delete, post_save


def _categories_changed(sender, **kwargs) -> None:
    from puan.taxonomy.selectors import categories_invalidate

    transaction.on_commit(categories_invalidate)


class TaxonomyConfig(AppConfig):
    name = "puan.taxonomy"
    label = "taxonomy"
    verbose_name = "事项分类"

    def ready(self) -> None:
        from puan.org.models import Unit
        from puan.taxonomy.models import Category

        # A category carries its lead department's name: a renamed department counts too.
        for model in (Category, Unit):
            post_save.connect(_categories_changed, sender=model, dispatch_uid=f"taxonomy_{model.__name__}_saved")
            post_delete.connect(_categories_changed, sender=model, dispatch_uid=f"taxonomy_{model.__name__}_deleted")
