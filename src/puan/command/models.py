"""The command centre's roll-ups: what the dashboard reads instead of scanning a million
cases. Every row is derived from the case timeline (`cases.CaseEvent`) by `rollup.py`;
`docs/kpis.md` defines each counter and `puan verify-kpis` recomputes them from raw events.

- `CaseFact`: one row per case, the case's contribution as last folded, so that the next
  fold can take it back out before adding the new one (the roll-ups are sums of facts);
- `DailyRollup`: per unit (district, street, community, grid) and local day, the sums;
- `DepartmentDailyRollup`: the same per lead department, for the ranking;
- `HexRollup`: cases registered per h3 cell, per district/street, per day and per month;
- `OpenRollup`: open cases per unit by colour;
- `RollupState`: the single watermark row the fold claims with a compare-and-set.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class FactStatus(models.IntegerChoices):
    OPEN = 0, "在办"
    DONE = 1, "已办结"
    REJECTED = 2, "不予受理"


class RollupState(models.Model):
    """How far the fold has got. `last_event_id` is the highest `CaseEvent.id` folded;
    `gaps` lists lower ids that were missing when the fold passed them (a transaction
    still in flight on PostgreSQL, whose sequence hands out ids before commit), each with
    the time it was first missed, so a late commit is still folded. `version` is bumped by
    every fold and rebuild: the compare-and-set that makes two workers never fold at once.
    Gaps are kept as id ranges `[first, last, since]` (see `rollup.Gaps`)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_event_id = models.BigIntegerField("已汇总至记录号", default=0)
    gaps = models.JSONField("待补记录号", default=list, blank=True)
    version = models.PositiveBigIntegerField("版本", default=0)
    folded_at = models.DateTimeField("最近汇总时间", null=True, blank=True)
    rebuilt_at = models.DateTimeField("最近重建时间", null=True, blank=True)

    class Meta:
        verbose_name = "汇总进度"
        verbose_name_plural = "汇总进度"

    def __str__(self) -> str:
        return f"≤{self.last_event_id} v{self.version}"


class CaseFact(models.Model):
    """A case as the roll-ups count it (see docs/kpis.md, "per case"). Not a foreign key:
    the fold writes these in bulk and never needs the join."""

    case_id = models.BigIntegerField("案件", primary_key=True)
    area_path = models.CharField("所在区域路径", max_length=200)
    registered_on = models.DateField("登记日")
    status = models.PositiveSmallIntegerField("状态", choices=FactStatus.choices)
    resolved_on = models.DateField("最近办结日", null=True, blank=True)
    resolved_tier = models.PositiveSmallIntegerField("办结层级", default=0)
    on_time = models.BooleanField("按期办结", default=False)
    department_id = models.BigIntegerField("办结时牵头部门", default=0)
    satisfaction = models.PositiveSmallIntegerField("满意度", null=True, blank=True)
    colour = models.CharField("风险等级", max_length=8, blank=True)
    cell = models.BigIntegerField("h3单元(8级)", default=0)

    class Meta:
        verbose_name = "案件汇总口径"
        verbose_name_plural = "案件汇总口径"
        # The heat map of a community or grid counts its cases' cells straight from here.
        indexes = [models.Index(fields=["area_path", "registered_on", "cell"], name="command_fact_area_day")]

    def __str__(self) -> str:
        return f"case {self.case_id}"


class DailyRollup(models.Model):
    """Sums per unit and local day. Cases counted by registration day: registered,
    rejected, done. Cases counted by the day of their latest resolution: handled, the
    tier it happened at, on time, rated, satisfaction."""

    level = models.PositiveSmallIntegerField("层级")  # 1 district, 2 street, 3 community, 4 grid
    path = models.CharField("单位路径", max_length=200)
    day = models.DateField("日期")
    registered = models.IntegerField("登记", default=0)
    rejected = models.IntegerField("不予受理", default=0)
    done = models.IntegerField("已办结(按登记日)", default=0)
    handled = models.IntegerField("办结(按办结日)", default=0)
    tier1 = models.IntegerField("社区办结", default=0)
    tier2 = models.IntegerField("街镇办结", default=0)
    tier3 = models.IntegerField("区级办结", default=0)
    on_time = models.IntegerField("按期办结", default=0)
    rated = models.IntegerField("已评价", default=0)
    satisfaction_sum = models.IntegerField("满意度合计", default=0)

    class Meta:
        verbose_name = "每日汇总"
        verbose_name_plural = "每日汇总"
        # Also the index every read uses: one unit's days, or a parent's children's days.
        constraints = [models.UniqueConstraint(fields=["level", "path", "day"], name="command_daily_key")]

    def __str__(self) -> str:
        return f"{self.path} {self.day}"


class DepartmentDailyRollup(models.Model):
    """Latest resolutions per unit, day and the lead department at resolution."""

    level = models.PositiveSmallIntegerField("层级")
    path = models.CharField("单位路径", max_length=200)
    day = models.DateField("日期")
    department_id = models.BigIntegerField("牵头部门")
    handled = models.IntegerField("办结", default=0)
    on_time = models.IntegerField("按期办结", default=0)
    rated = models.IntegerField("已评价", default=0)
    satisfaction_sum = models.IntegerField("满意度合计", default=0)

    class Meta:
        verbose_name = "部门每日汇总"
        verbose_name_plural = "部门每日汇总"
        constraints = [
            models.UniqueConstraint(fields=["level", "path", "day", "department_id"], name="command_dept_key")
        ]

    def __str__(self) -> str:
        return f"{self.path} {self.day} {self.department_id}"


class OpenRollup(models.Model):
    """Open cases per unit by colour, as of the fold: what the wall shows as "在办". Kept
    here rather than counted live because a district's ten thousand open cases are spread
    over the whole case table, and counting them by colour means reading every one."""

    level = models.PositiveSmallIntegerField("层级")
    path = models.CharField("单位路径", max_length=200)
    red = models.IntegerField("红色", default=0)
    orange = models.IntegerField("橙色", default=0)
    yellow = models.IntegerField("黄色", default=0)

    class Meta:
        verbose_name = "在办汇总"
        verbose_name_plural = "在办汇总"
        constraints = [models.UniqueConstraint(fields=["level", "path"], name="command_open_key")]

    def __str__(self) -> str:
        return f"{self.path} {self.red}/{self.orange}/{self.yellow}"


class HexSpan(models.IntegerChoices):
    DAY = 0, "日"
    MONTH = 1, "月"
    WEEK = 2, "周"


class HexRollup(models.Model):
    """Cases registered per h3 cell (resolution 8), for the district and each street, per
    day, per week (`day` = the Monday) and per month (`day` = the 1st). A district has a
    thousand busy cells; any period is read as whole months, then whole weeks, then the
    ragged days, so that a month's heat map is a few thousand rows, not thirty thousand.
    Communities and grids are small enough to count from `CaseFact`."""

    level = models.PositiveSmallIntegerField("层级")
    path = models.CharField("单位路径", max_length=200)
    span = models.PositiveSmallIntegerField("粒度", choices=HexSpan.choices)
    day = models.DateField("日期")
    cell = models.BigIntegerField("h3单元")
    registered = models.IntegerField("登记", default=0)

    class Meta:
        verbose_name = "热力汇总"
        verbose_name_plural = "热力汇总"
        constraints = [
            models.UniqueConstraint(fields=["level", "path", "span", "day", "cell"], name="command_hex_key"),
            models.CheckConstraint(condition=Q(level__in=[1, 2]), name="command_hex_level"),
        ]
        # A month's district heat map sums tens of thousands of rows: read them all from
        # the index, never from the table.
        indexes = [
            models.Index(fields=["level", "path", "span", "day", "cell", "registered"], name="command_hex_cover")
        ]

    def __str__(self) -> str:
        return f"{self.path} {self.day} {self.cell}"
