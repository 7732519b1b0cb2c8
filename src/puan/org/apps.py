from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "puan.org"
    label = "org"
    verbose_name = "组织与网格"
