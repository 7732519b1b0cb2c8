from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "puan.cases"
    label = "cases"
    verbose_name = "案件"
