"""The district's "one network": the administrative tree down to grids, the departments
stationed at the centre, and the police emergency hierarchy."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

# Each level of the tree adds one fixed-width segment to `Unit.path`, so "this unit and
# everything below it" is one range scan on an ordinary b-tree index:
#   path >= unit.path AND path < path_upper_bound(unit.path)
# Digits only, so every collation (SQLite BINARY, PostgreSQL's locale collations) orders
# the strings the same way.
PATH_SEGMENT_WIDTH = 8


def path_segment(pk: int) -> str:
    return str(pk).zfill(PATH_SEGMENT_WIDTH)


def path_upper_bound(path: str) -> str:
    """The smallest string greater than every string that starts with `path`."""
    return str(int(path) + 1).zfill(len(path))


def subtree_q(path: str, field: str = "path") -> Q:
    return Q(**{f"{field}__gte": path, f"{field}__lt": path_upper_bound(path)})


class UnitLevel(models.TextChoices):
    DISTRICT = "district", "区"
    STREET = "street", "街道/镇"
    COMMUNITY = "community", "社区/村"
    GRID = "grid", "网格"
    DEPARTMENT = "department", "职能部门"


# The order of the administrative levels; departments hang off the district.
LEVEL_DEPTH = {UnitLevel.DISTRICT: 1, UnitLevel.STREET: 2, UnitLevel.COMMUNITY: 3, UnitLevel.GRID: 4}


class UnitKind(models.TextChoices):
    DISTRICT = "district", "区"
    STREET = "street", "街道"
    TOWN = "town", "镇"
    COMMUNITY = "community", "社区"
    VILLAGE = "village", "村"
    GRID = "grid", "网格"
    DEPARTMENT = "department", "职能部门"
    MEDIATION = "mediation", "调解组织"


class Stationing(models.TextChoices):
    PERMANENT = "permanent", "常驻"
    ROTATING = "rotating", "轮驻"
    ON_CALL = "on_call", "随驻"


class Unit(models.Model):
    code = models.CharField("编码", max_length=32, unique=True)
    name = models.CharField("名称", max_length=100)
    level = models.CharField("层级", max_length=16, choices=UnitLevel.choices)
    kind = models.CharField("类型", max_length=16, choices=UnitKind.choices)
    parent = models.ForeignKey(
        "self", verbose_name="上级单位", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField("路径", max_length=200, unique=True, editable=False)
    depth = models.PositiveSmallIntegerField("深度", editable=False)
    stationing = models.CharField("入驻方式", max_length=16, choices=Stationing.choices, blank=True)
    # GeoJSON geometry (Polygon / MultiPolygon) in lon/lat; grids always have one.
    boundary = models.JSONField("边界", null=True, blank=True)
    centroid_lon = models.FloatField("中心经度", null=True, blank=True)
    centroid_lat = models.FloatField("中心纬度", null=True, blank=True)
    police_office = models.ForeignKey(
        "PoliceUnit",
        verbose_name="警务网格(社区警务室)",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="grids",
    )
    head = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="单位负责人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="headed_units",
    )
    is_active = models.BooleanField("启用", default=True)
    sort_order = models.PositiveIntegerField("排序", default=0)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "组织单位"
        verbose_name_plural = "组织单位"
        ordering = ["path"]
        indexes = [models.Index(fields=["level", "path"], name="unit_level_path")]
        constraints = [
            models.CheckConstraint(condition=Q(level__in=UnitLevel.values), name="unit_level_valid"),
            models.CheckConstraint(
                condition=Q(level=UnitLevel.DEPARTMENT) | Q(stationing=""),
                name="unit_stationing_only_departments",
            ),
            models.CheckConstraint(
                condition=Q(level=UnitLevel.DISTRICT) | Q(parent__isnull=False),
                name="unit_parent_required_below_district",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def centroid(self) -> tuple[float, float] | None:
        if self.centroid_lon is None or self.centroid_lat is None:
            return None
        return (self.centroid_lon, self.centroid_lat)

    def ancestor_paths(self) -> list[str]:
        """Paths of this unit and its ancestors, top first."""
        w = PATH_SEGMENT_WIDTH
        return [self.path[: i + w] for i in range(0, len(self.path), w)]


class PoliceLevel(models.TextChoices):
    BUREAU = "bureau", "公安分局"
    STATION = "station", "派出所"
    OFFICE = "office", "社区警务室"
    EMERGENCY_UNIT = "emergency_unit", "最小应急单元"


class PoliceUnit(models.Model):
    """The four-level police emergency hierarchy: bureau → station → community police
    office (one per police grid) → minimal emergency unit."""

    code = models.CharField("编码", max_length=32, unique=True)
    name = models.CharField("名称", max_length=100)
    level = models.CharField("层级", max_length=16, choices=PoliceLevel.choices)
    parent = models.ForeignKey(
        "self", verbose_name="上级", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    grid = models.ForeignKey(
        Unit,
        verbose_name="所在网格",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="emergency_units",
        limit_choices_to={"level": UnitLevel.GRID},
    )
    lon = models.FloatField("经度", null=True, blank=True)
    lat = models.FloatField("纬度", null=True, blank=True)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "警务与应急单元"
        verbose_name_plural = "警务与应急单元"
        ordering = ["code"]
        indexes = [models.Index(fields=["level", "grid"], name="police_level_grid")]

    def __str__(self) -> str:
        return self.name


class GeoVersion(models.Model):
    """A single row bumped whenever any grid boundary changes, so every process can tell
    cheaply whether its point-in-grid index is stale."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    version = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = "网格边界版本"
        verbose_name_plural = "网格边界版本"

    def __str__(self) -> str:
        return f"v{self.version}"
