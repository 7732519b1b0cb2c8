from __future__ import annotations

import importlib.util
import sys
import types

import pytest
from django.urls import path

from puan.accounts.roles import Role
from puan.accounts.tests.factories import make_user
from puan.core.models import BenchRow

pytestmark = pytest.mark.django_db


@pytest.fixture
def urls_with(settings, monkeypatch):
    """Route requests through a fresh copy of `puan.api`, built with the bench setting as
    given: the real one was built once at import, whatever the environment said then."""

    def build(*, bench: bool) -> None:
        from puan import urls as project_urls

        settings.PUAN_BENCH_ENDPOINTS = bench
        spec = importlib.util.find_spec("puan.api")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        name = f"puan_test_bench_urls_{'on' if bench else 'off'}"
        urlconf = types.ModuleType(name)
        # The project's URLs with only the API swapped: error pages reverse the page URLs.
        others = [p for p in project_urls.urlpatterns if str(p.pattern) != "api/v1/"]
        urlconf.urlpatterns = [path("api/v1/", module.api.urls), *others]
        monkeypatch.setitem(sys.modules, name, urlconf)
        settings.ROOT_URLCONF = name  # overriding it clears Django's URL caches

    return build


@pytest.fixture
def worker_api(tree, api):
    return api.login_as(make_user(Role.GRID_WORKER, unit=tree.grid_a1))


def test_it_does_not_route_the_bench_endpoints_when_the_setting_is_off(urls_with, worker_api):
    urls_with(bench=False)
    assert worker_api.post("/api/v1/bench/noop", {"note": "x"}).status_code == 404
    assert worker_api.post("/api/v1/bench/row", {"note": "x"}).status_code == 404
    assert not BenchRow.objects.exists()
    # The rest of the API is unaffected.
    assert worker_api.get("/api/v1/me").status_code == 200


def test_it_echoes_the_body_on_noop_without_writing(urls_with, worker_api):
    urls_with(bench=True)
    response = worker_api.post("/api/v1/bench/noop", {"note": "ping", "n": 7})
    assert response.status_code == 200
    assert response.json() == {"note": "ping", "n": 7}
    assert not BenchRow.objects.exists()


def test_it_commits_one_bare_row_on_row(urls_with, worker_api):
    urls_with(bench=True)
    response = worker_api.post("/api/v1/bench/row", {"note": "one"})
    assert response.status_code == 201
    row = BenchRow.objects.get()
    assert response.json() == {"id": row.pk, "note": "one"}


def test_it_authenticates_the_bench_endpoints_like_intake(urls_with, api, db):
    urls_with(bench=True)
    assert api.post("/api/v1/bench/noop", {"note": "x"}).status_code == 401
    assert api.post("/api/v1/bench/row", {}, headers={"Authorization": "Bearer pua_wrong"}).status_code == 401
    assert not BenchRow.objects.exists()


def test_it_answers_bad_input_and_wrong_methods(urls_with, worker_api):
    urls_with(bench=True)
    response = worker_api.post("/api/v1/bench/noop", {"note": "x" * 33})
    assert response.status_code == 422
    assert response.json()["field"] == "note"
    assert worker_api.get("/api/v1/bench/row").status_code == 405
