from __future__ import annotations

import pytest
from django.contrib.auth import authenticate

from puan.accounts.models import User
from puan.demo import DEMO_LOGINS, demo_load
from puan.org import geo
from puan.org.models import PoliceLevel, PoliceUnit, Unit, UnitLevel
from puan.taxonomy.models import Category

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_it_loads_a_realistic_district_quickly_and_only_once():
    summary = demo_load(password="Demo-Pass-1")
    assert summary.streets == 16
    assert 115 <= summary.communities <= 125
    assert 1950 <= summary.grids <= 2100
    assert Unit.objects.get(name="长洲街").level == UnitLevel.STREET
    assert Unit.objects.get(name="深井社区").parent.name == "长洲街"
    assert Unit.objects.get(name="刘村").parent.name == "云埔街"
    assert Unit.objects.filter(level=UnitLevel.DEPARTMENT, name="区司法局").exists()
    assert PoliceUnit.objects.filter(level=PoliceLevel.OFFICE).count() == 155
    assert PoliceUnit.objects.filter(level=PoliceLevel.EMERGENCY_UNIT).count() == 2048
    assert not Unit.objects.filter(level=UnitLevel.GRID, police_office__isnull=True).exists()
    assert Category.objects.count() >= 60

    for username, role, _, _ in DEMO_LOGINS:
        user = authenticate(username=username, password="Demo-Pass-1")
        assert user is not None, username
        assert role in user.role_codes
    grid1 = User.objects.get(username="grid1")
    assert grid1.unit.level == UnitLevel.GRID and grid1.unit.parent.name == "深井社区"
    assert User.objects.get(username="street1").unit.name == "长洲街"
    assert User.objects.get(username="dept_justice").unit.code == "dept.justice"

    # Every grid is findable by a point inside it.
    grid = Unit.objects.filter(level=UnitLevel.GRID).order_by("?").first()
    lon, lat = grid.centroid
    assert geo.locate(lon, lat).grid_id == grid.pk

    again = demo_load(password="Demo-Pass-1")
    assert again.already_loaded and again.grids == summary.grids
    assert Unit.objects.filter(level=UnitLevel.GRID).count() == summary.grids


def test_it_prints_the_logins_and_the_open311_key(monkeypatch, capsys):
    from django.core.management import call_command

    from puan.open311.models import ClientSystem

    monkeypatch.setenv("PUAN_DEMO_PASSWORD", "Demo-Pass-2")
    monkeypatch.setenv("PUAN_DEMO_OPEN311_KEY", "demo-key-for-tests-0001")
    call_command("load_demo", cases=0)
    out = capsys.readouterr().out
    assert "演示账号（密码 Demo-Pass-2）" in out and "dispatcher" in out
    assert "demo-key-for-tests-0001" in out
    assert ClientSystem.objects.count() == 1
