from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "puan.core"
    label = "core"
    verbose_name = "核心"
