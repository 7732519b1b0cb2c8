"""Working time. Monday to Friday are working days, except the holidays in the calendar;
make-up working days (调休) on weekends are working days. Working time runs through the
whole of a working day and stops on the others, so "3 working days" from Friday 15:00
ends on Wednesday 15:00 and a weekend in between costs nothing."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from puan.core.cache import TimedCopy
from puan.core.errors import InvalidInput

DATA_DIR = Path(__file__).parent / "data"


@dataclass(frozen=True)
class WorkingCalendar:
    holidays: frozenset[date]
    workdays: frozenset[date]

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def add(self, start: datetime, minutes: float) -> datetime:
        """The moment `minutes` of working time after `start`."""
        return self.add_each(start, [minutes])[0]

    def add_each(self, start: datetime, minutes: Sequence[float]) -> list[datetime]:
        """`add(start, m)` for each m, in one walk over the days (a case's deadlines and
        reminder marks all run from the same start).

        The walk is in local wall-clock time, day by day: each working day offers the time
        from the walk's position to its midnight. A duration that ends exactly at midnight
        ends there, not on the next working day's morning."""
        local = timezone.localtime(start)
        tz = local.tzinfo
        position = local.replace(tzinfo=None)
        day = position.date()
        order = sorted(range(len(minutes)), key=lambda i: minutes[i])
        wanted = [timedelta(minutes=minutes[i]) for i in order]
        found: list[datetime | None] = [None] * len(minutes)
        used = timedelta()  # working time between start and `position`
        k = 0
        while k < len(wanted):
            midnight = datetime.combine(day + ONE_DAY, MIDNIGHT)
            if self.is_working_day(day):
                available = midnight - position
                while k < len(wanted) and wanted[k] - used <= available:
                    found[order[k]] = (position + (wanted[k] - used)).replace(tzinfo=tz)
                    k += 1
                used += available
            position = midnight
            day += ONE_DAY
        return found

    def between(self, start: datetime, end: datetime) -> float:
        """Working minutes from `start` to `end` (0 if end is before start)."""
        if end <= start:
            return 0.0
        position = timezone.localtime(start).replace(tzinfo=None)
        end = timezone.localtime(end).replace(tzinfo=None)
        day = position.date()
        total = timedelta()
        while position < end:
            following = min(datetime.combine(day + ONE_DAY, MIDNIGHT), end)
            if self.is_working_day(day):
                total += following - position
            position = following
            day += ONE_DAY
        return total.total_seconds() / 60


ONE_DAY = timedelta(days=1)
MIDNIGHT = time()


def _load_calendar() -> WorkingCalendar:
    from puan.sla.models import CalendarDay, DayKind

    rows = list(CalendarDay.objects.values_list("date", "kind"))
    return WorkingCalendar(
        holidays=frozenset(d for d, k in rows if k == DayKind.HOLIDAY),
        workdays=frozenset(d for d, k in rows if k == DayKind.WORKDAY),
    )


_calendar = TimedCopy(_load_calendar, depends_on=["sla.CalendarDay"])


def working_calendar() -> WorkingCalendar:
    """The calendar from the database, cached for a minute per process."""
    return _calendar.get()


def calendar_invalidate() -> None:
    _calendar.invalidate()


def _parse_day(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"日期 {value!r} 格式不正确，应为 YYYY-MM-DD。", field=field) from None


@transaction.atomic
def calendar_load(*, data: dict) -> int:
    """Replace one year's holidays and make-up working days (the State Council's notice)."""
    from puan.sla.models import CalendarDay, DayKind

    year = data.get("year")
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise InvalidInput("日历文件缺少有效的年份 year。", field="year")
    provisional = bool(data.get("provisional", False))
    days: dict[date, tuple[str, str]] = {}
    for i, holiday in enumerate(data.get("holidays", [])):
        start = _parse_day(holiday.get("from"), f"holidays.{i}.from")
        end = _parse_day(holiday.get("to"), f"holidays.{i}.to")
        if end < start or (end - start).days > 31:
            raise InvalidInput(f"假期 {holiday.get('name', '')} 的起止日期不合理。", field=f"holidays.{i}")
        for n in range((end - start).days + 1):
            days[start + timedelta(days=n)] = (DayKind.HOLIDAY, holiday.get("name", ""))
    for i, raw in enumerate(data.get("makeup_workdays", [])):
        day = _parse_day(raw, f"makeup_workdays.{i}")
        if day in days:
            raise InvalidInput(f"{day} 既是假期又是调休上班日。", field=f"makeup_workdays.{i}")
        days[day] = (DayKind.WORKDAY, "调休上班")
    outside = [d for d in days if d.year != year]
    if outside:
        raise InvalidInput(f"{outside[0]} 不在 {year} 年内。", field="holidays")
    CalendarDay.objects.filter(year=year).delete()
    CalendarDay.objects.bulk_create(
        [CalendarDay(date=d, kind=k, name=n, year=year, provisional=provisional) for d, (k, n) in sorted(days.items())]
    )
    transaction.on_commit(calendar_invalidate)
    return len(days)


def calendar_load_shipped() -> list[int]:
    """Load every calendar shipped with Puan (2026 official, 2027 provisional)."""
    years = []
    for path in sorted(DATA_DIR.glob("cn-holidays-*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        calendar_load(data=data)
        years.append(data["year"])
    return years
