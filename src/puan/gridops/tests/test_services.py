from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from puan.cases.tests.helpers import IN_GRID_A1, IN_GRID_B1, People
from puan.core.errors import InvalidInput, NotAllowed
from puan.gridops.selectors import patrol_checkins_of, patrol_count_since
from puan.gridops.services import patrol_check_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(tree):
    return People(tree)


def test_it_records_a_check_in_resolved_to_the_grid(people):
    checkin = patrol_check_in(actor=people.grid_worker, lon=IN_GRID_A1[0], lat=IN_GRID_A1[1], accuracy_m=8)
    assert checkin.grid_id == people.tree.grid_a1.pk and checkin.in_own_grid
    away = patrol_check_in(actor=people.grid_worker, lon=IN_GRID_B1[0], lat=IN_GRID_B1[1])
    assert away.grid_id == people.tree.grid_b1.pk and not away.in_own_grid
    assert [c.pk for c in patrol_checkins_of(user=people.grid_worker)] == [away.pk, checkin.pk]
    assert patrol_count_since(user=people.grid_worker) == 2


def test_it_keeps_the_time_the_worker_checked_in_not_when_it_arrived(people):
    earlier = timezone.now() - timedelta(hours=3)
    checkin = patrol_check_in(actor=people.grid_worker, lon=IN_GRID_A1[0], lat=IN_GRID_A1[1], checked_at=earlier)
    assert checkin.checked_at == earlier and checkin.received_at > earlier


def test_it_refuses_bad_check_ins(people):
    with pytest.raises(InvalidInput) as err:
        patrol_check_in(actor=people.grid_worker, lon=120.0, lat=30.0)
    assert err.value.field == "lon"
    with pytest.raises(InvalidInput) as err:
        patrol_check_in(
            actor=people.grid_worker,
            lon=IN_GRID_A1[0],
            lat=IN_GRID_A1[1],
            checked_at=timezone.now() + timedelta(hours=1),
        )
    assert err.value.field == "checked_at"
    with pytest.raises(NotAllowed):
        patrol_check_in(actor=people.community, lon=IN_GRID_A1[0], lat=IN_GRID_A1[1])
    with pytest.raises(NotAllowed):
        patrol_check_in(actor=people.leader, lon=IN_GRID_A1[0], lat=IN_GRID_A1[1])
