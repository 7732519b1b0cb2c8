from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from puan.cases.tests.helpers import IN_GRID_A1, People
from puan.gridops.models import PatrolCheckIn

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(tree):
    return People(tree)


def test_it_takes_a_check_in_once_per_idempotency_key(people, api):
    api.login_as(people.grid_worker)
    an_hour_ago = timezone.localtime() - timedelta(hours=1)
    body = {"lon": IN_GRID_A1[0], "lat": IN_GRID_A1[1], "accuracy_m": 12, "checked_at": an_hour_ago.isoformat()}
    first = api.post("/api/v1/patrols/checkins", body, headers={"Idempotency-Key": "phone-1"})
    assert first.status_code == 201, first.content
    again = api.post("/api/v1/patrols/checkins", body, headers={"Idempotency-Key": "phone-1"})
    assert again.status_code == 201 and again.json() == first.json()
    assert PatrolCheckIn.objects.count() == 1
    assert first.json()["grid"] == {"id": people.tree.grid_a1.pk, "name": "深井社区第01网格"}
    assert first.json()["in_own_grid"] is True
    listed = api.get("/api/v1/patrols/checkins").json()
    assert [c["id"] for c in listed] == [first.json()["id"]]


def test_it_answers_refusals_in_the_api_shape(people, api):
    api.login_as(people.community)
    response = api.post("/api/v1/patrols/checkins", {"lon": IN_GRID_A1[0], "lat": IN_GRID_A1[1]})
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    api.login_as(people.grid_worker)
    response = api.post("/api/v1/patrols/checkins", {"lon": 100.0, "lat": 20.0})
    assert response.status_code == 422 and response.json()["field"] == "lon"


def test_it_reads_a_check_in_time_without_a_zone_as_local_time(people, api):
    api.login_as(people.grid_worker)
    local = (timezone.localtime() - timedelta(minutes=30)).replace(tzinfo=None, microsecond=0)
    body = {"lon": IN_GRID_A1[0], "lat": IN_GRID_A1[1], "checked_at": local.isoformat()}
    response = api.post("/api/v1/patrols/checkins", body)
    assert response.status_code == 201, response.content
    assert PatrolCheckIn.objects.get().checked_at == timezone.make_aware(local)
    late = {**body, "checked_at": (local + timedelta(hours=2)).isoformat()}
    refused = api.post("/api/v1/patrols/checkins", late)
    assert refused.status_code == 422 and refused.json()["field"] == "checked_at"
