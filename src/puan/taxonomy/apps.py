from django.apps import AppConfig


class TaxonomyConfig(AppConfig):
    name = "puan.taxonomy"
    label = "taxonomy"
    verbose_name = "事项分类"
