from django.apps import AppConfig


class GridopsConfig(AppConfig):
    name = "puan.gridops"
    label = "gridops"
    verbose_name = "网格巡查"
