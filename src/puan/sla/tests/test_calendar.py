from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from puan.core.errors import InvalidInput
from puan.sla.calendar import WorkingCalendar, calendar_load, working_calendar
from puan.sla.engine import plan_for, policy_for
from puan.sla.models import CalendarDay, SlaPolicy

pytestmark = pytest.mark.django_db
CST = ZoneInfo("Asia/Shanghai")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=CST)


def test_it_ships_the_official_2026_calendar_and_a_provisional_2027():
    calendar = working_calendar()
    assert not calendar.is_working_day(date(2026, 2, 17))  # 春节
    assert calendar.is_working_day(date(2026, 2, 14))  # Saturday make-up day
    assert not calendar.is_working_day(date(2026, 10, 7))  # 国庆节
    assert calendar.is_working_day(date(2026, 10, 10))  # Saturday make-up day
    assert not calendar.is_working_day(date(2027, 1, 1))
    assert CalendarDay.objects.filter(year=2027, provisional=True).exists()
    assert not CalendarDay.objects.filter(year=2026, provisional=True).exists()


def test_it_counts_working_days_across_weekends_and_holidays():
    calendar = working_calendar()
    friday = at(2026, 11, 27, 15, 0)
    assert calendar.add(friday, 3 * 24 * 60) == at(2026, 12, 2, 15, 0)  # Mon, Tue, Wed
    # Spring Festival 2026: Sat 14 Feb is a make-up working day, 15–23 Feb are off.
    assert calendar.add(at(2026, 2, 13, 10, 0), 2 * 24 * 60) == at(2026, 2, 24, 10, 0)
    # Starting on a holiday counts from the next working day's midnight.
    assert calendar.add(at(2026, 10, 3, 12, 0), 60) == at(2026, 10, 8, 1, 0)
    assert calendar.between(friday, at(2026, 12, 2, 15, 0)) == 3 * 24 * 60


def test_it_replaces_a_year_and_refuses_a_malformed_one():
    count = calendar_load(
        data={
            "year": 2027,
            "holidays": [{"name": "春节", "from": "2027-02-06", "to": "2027-02-12"}],
            "makeup_workdays": ["2027-02-14"],
        }
    )
    assert count == 8
    assert not CalendarDay.objects.filter(year=2027, date="2027-10-01").exists()
    for bad, field in [
        ({"year": 2027, "holidays": [{"name": "x", "from": "2027-13-01", "to": "2027-13-02"}]}, "holidays.0.from"),
        ({"year": 2027, "holidays": [], "makeup_workdays": ["2028-01-01"]}, "holidays"),
        ({"holidays": []}, "year"),
    ]:
        with pytest.raises(InvalidInput) as err:
            calendar_load(data=bad)
        assert err.value.field == field
    assert CalendarDay.objects.filter(year=2027).count() == 8


def test_it_picks_the_most_specific_policy():
    assert policy_for(lane="simple", tier=1, risk="yellow", kind="event").name == "简事快办"
    assert policy_for(lane="difficult", tier=3, risk="red", kind="petition").resolve_minutes == 60 * 24 * 60
    SlaPolicy.objects.create(name="街道繁事", lane="complex", tier=2, respond_minutes=60, resolve_minutes=10 * 24 * 60)
    from puan.sla.engine import policies_invalidate

    policies_invalidate()
    assert policy_for(lane="complex", tier=2, risk="yellow", kind="event").name == "街道繁事"
    assert policy_for(lane="complex", tier=1, risk="yellow", kind="event").name == "繁事精办"


def test_it_plans_marks_in_working_time():
    plan = plan_for(lane="simple", tier=1, risk="yellow", kind="event", start=at(2026, 11, 27, 15, 0))
    assert plan.resolve_due_at == at(2026, 12, 2, 15, 0)
    assert plan.respond_due_at == at(2026, 11, 30, 15, 0)
    assert plan.mark_50_at == at(2026, 12, 1, 3, 0)  # 9 h of Friday, all Monday, 3 h of Tuesday
    urgent = plan_for(lane="urgent", tier=1, risk="yellow", kind="event", start=at(2026, 11, 28, 23, 0))
    assert urgent.resolve_due_at == at(2026, 11, 29, 23, 0)  # on the clock, weekend or not


def test_it_models_weekend_only_calendars():
    bare = WorkingCalendar(frozenset(), frozenset())
    assert bare.add(at(2026, 11, 28, 9, 0), 60) == at(2026, 11, 30, 1, 0)


def _reference_add(calendar: WorkingCalendar, start: datetime, minutes: float) -> datetime:
    """Working time added the plain way, one whole day after another: each working day
    offers its time up to midnight, until the rest fits."""
    local = start.astimezone(CST)
    remaining = timedelta(minutes=minutes)
    while True:
        following = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=CST)
        if calendar.is_working_day(local.date()):
            if remaining <= following - local:
                return local + remaining
            remaining -= following - local
        local = following


DAYS = st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 3, 31))


@settings(max_examples=150, deadline=None)
@given(
    holidays=st.frozensets(DAYS, max_size=20),
    workdays=st.frozensets(DAYS, max_size=5),
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 2, 28)),
    minutes=st.lists(st.floats(min_value=0, max_value=20 * 24 * 60), min_size=1, max_size=4),
)
def test_one_walk_gives_each_deadline_as_a_walk_of_its_own(holidays, workdays, start, minutes):
    calendar = WorkingCalendar(holidays - workdays, workdays)
    start = start.replace(tzinfo=CST)
    ends = calendar.add_each(start, minutes)
    assert ends == [_reference_add(calendar, start, m) for m in minutes]
    for m, end in zip(minutes, ends, strict=True):
        # Working time from the start to a deadline is the time that was added (to the
        # microsecond timedelta rounds it to).
        assert abs(calendar.between(start, end) - m) < 1e-4
        assert calendar.between(end, start) == 0.0


def test_it_loads_a_calendar_file_from_the_command_line(tmp_path, capsys):
    import json

    from django.core.management import CommandError, call_command

    path = tmp_path / "cn-holidays-2027.json"
    path.write_text(
        json.dumps(
            {
                "year": 2027,
                "holidays": [{"name": "春节", "from": "2027-02-06", "to": "2027-02-12"}],
                "makeup_workdays": [],
            }
        ),
        encoding="utf-8",
    )
    call_command("load_calendar", str(path))
    assert "2027 年工作日历已载入：7" in capsys.readouterr().out
    path.write_text('{"year": 2027, "holidays": [{"name": "x", "from": "bad", "to": "bad"}]}', encoding="utf-8")
    with pytest.raises(CommandError, match=r"holidays\.0\.from"):
        call_command("load_calendar", str(path))


def test_it_lets_administrators_edit_policies_calendar_and_rules(tree):
    from django.test import Client

    from puan.accounts.roles import Role
    from puan.accounts.tests.factories import make_user

    client = Client()
    client.force_login(make_user(Role.ADMIN, unit=tree.district))
    for url in (
        "/admin/sla/slapolicy/",
        "/admin/sla/calendarday/",
        "/admin/cases/riskrule/",
        "/admin/cases/case/",
        "/admin/sla/slarequest/",
    ):
        assert client.get(url).status_code == 200, url
    policy = SlaPolicy.objects.get(name="简事快办")
    response = client.post(
        f"/admin/sla/slapolicy/{policy.pk}/change/",
        {
            "name": "简事快办",
            "lane": "simple",
            "tier": "",
            "risk": "",
            "kind": "",
            "respond_minutes": 1440,
            "resolve_minutes": 2 * 1440,
            "working_time": "on",
            "extension_minutes": 0,
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    from puan.sla.engine import policies_invalidate

    policies_invalidate()
    assert policy_for(lane="simple", tier=1, risk="yellow", kind="event").resolve_minutes == 2 * 1440
