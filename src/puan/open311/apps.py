from django.apps import AppConfig


class Open311Config(AppConfig):
    name = "puan.open311"
    label = "open311"
    verbose_name = "Open311 对外接口"
