from django.apps import AppConfig
from django.db import transaction
from django.db.models.signals import post_delete, post_save


def _unit_changed(sender, **kwargs) -> None:
    from puan.org.selectors import area_units_invalidate

    transaction.on_commit(area_units_invalidate)


class OrgConfig(AppConfig):
    name = "puan.org"
    label = "org"
    verbose_name = "组织与网格"

    def ready(self) -> None:
        from puan.org.models import Unit

        post_save.connect(_unit_changed, sender=Unit, dispatch_uid="org_unit_saved")
        post_delete.connect(_unit_changed, sender=Unit, dispatch_uid="org_unit_deleted")
