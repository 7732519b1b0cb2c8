from django.apps import AppConfig


class CommandConfig(AppConfig):
    name = "puan.command"
    label = "command"
    verbose_name = "指挥中心"
