"""The /command/ page: who may open it, and that it carries no inline script or style."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from puan.accounts.roles import Role
from puan.accounts.tests.factories import make_user
from puan.cases.tests.helpers import People

pytestmark = pytest.mark.django_db
URL = "/command/"


@pytest.fixture
def people(world):
    return People(world)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_shows_the_dashboard_to_a_dispatcher_and_a_read_only_leader(people, world):
    for user in (people.dispatcher, people.leader):
        response = _client(user).get(URL)
        assert response.status_code == 200
        html = response.content.decode()
        assert "令行禁止 · 有呼必应" in html and f'data-unit="{world.district.pk}"' in html
        assert 'id="cc-map-chart"' in html and 'data-kpi="handled_total"' in html


def test_it_opens_a_unit_below_in_scope_and_hides_the_rest(people, world):
    leader = make_user(Role.LEADER, unit=world.street_a, username="street_leader")
    client = _client(leader)
    own = client.get(URL)
    assert own.status_code == 200 and f'data-unit="{world.street_a.pk}"' in own.content.decode()
    below = client.get(URL, {"unit": world.grid_a1.pk})
    assert below.status_code == 200 and "深井社区第01网格" in below.content.decode()
    assert client.get(URL, {"unit": world.street_b.pk}).status_code == 404
    assert client.get(URL, {"unit": world.district.pk}).status_code == 404
    assert client.get(URL, {"unit": "abc"}).status_code == 404


def test_it_refuses_users_without_an_area(people):
    assert _client(people.justice).get(URL).status_code == 403
    assert _client(people.volunteer).get(URL).status_code == 403


def test_it_sends_strangers_to_sign_in_and_refuses_other_methods(people):
    response = Client().get(URL)
    assert response.status_code == 302 and "next=/command/" in response["Location"]
    client = _client(people.dispatcher)
    assert client.post(URL).status_code == 405
    assert client.delete(URL).status_code == 405


def test_it_carries_a_strict_policy_and_nothing_inline(people):
    response = _client(people.dispatcher).get(URL)
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe-inline" not in policy
    html = response.content.decode()
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []  # every script is a file
    assert " style=" not in html and "<style" not in html
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers
