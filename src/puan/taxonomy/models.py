"""The case taxonomy: item groups (事项大类) and categories (事项小类), each category with
the defaults routing starts from."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Lane(models.TextChoices):
    URGENT = "urgent", "急事急办"
    SIMPLE = "simple", "简事快办"
    COMPLEX = "complex", "繁事精办"
    DIFFICULT = "difficult", "难事认真办"


class Tier(models.IntegerChoices):
    COMMUNITY = 1, "社区(村)首诊"
    STREET = 2, "街(镇)会诊"
    DISTRICT = 3, "区级终诊"


TIER_BY_NAME = {"community": Tier.COMMUNITY, "street": Tier.STREET, "district": Tier.DISTRICT}


class ItemGroup(models.Model):
    code = models.CharField("编码", max_length=16, unique=True)
    name = models.CharField("名称", max_length=50)
    name_en = models.CharField("英文名称", max_length=100, blank=True)
    sort_order = models.PositiveIntegerField("排序", default=0)

    class Meta:
        verbose_name = "事项大类"
        verbose_name_plural = "事项大类"
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Category(models.Model):
    group = models.ForeignKey(ItemGroup, verbose_name="所属大类", on_delete=models.PROTECT, related_name="categories")
    code = models.CharField("编码", max_length=16, unique=True)
    name = models.CharField("名称", max_length=50)
    name_en = models.CharField("英文名称", max_length=100, blank=True)
    description = models.CharField("说明", max_length=300, blank=True)
    keywords = models.JSONField("关键词", default=list, blank=True)
    public = models.BooleanField("群众可上报", default=True)
    default_lane = models.CharField("默认办理通道", max_length=16, choices=Lane.choices)
    first_tier = models.PositiveSmallIntegerField("首办层级", choices=Tier.choices)
    lead_department = models.ForeignKey(
        "org.Unit",
        verbose_name="牵头部门",
        on_delete=models.PROTECT,
        related_name="led_categories",
        limit_choices_to={"level": "department"},
    )
    is_active = models.BooleanField("启用", default=True)
    sort_order = models.PositiveIntegerField("排序", default=0)

    class Meta:
        verbose_name = "事项小类"
        verbose_name_plural = "事项小类"
        ordering = ["sort_order", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(default_lane__in=Lane.values), name="category_lane_valid"),
            models.CheckConstraint(condition=Q(first_tier__in=Tier.values), name="category_tier_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"
