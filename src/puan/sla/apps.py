from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "puan.sla"
    label = "sla"
    verbose_name = "时限管理"
