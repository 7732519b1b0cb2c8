"""Whatever arrives, no answer is a 500: every operation of the API and every page, fed
values past any range (integers beyond what a database stores, dates beyond what a
datetime holds, digits that are not ASCII)."""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from puan.cases.tests.helpers import People, intake

pytestmark = pytest.mark.django_db

HUGE = 10**20
ODD_VALUES = [str(HUGE), "-1", "²", "abc", "9999-12-31", "1e400", ""]


def _schema(doc: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    for choice in schema.get("anyOf", []):
        if choice.get("type") != "null":
            return _schema(doc, choice)
    return schema


def _out_of_range(doc: dict, schema: dict, depth: int = 0):
    """A value of the schema's shape with every number and date out of range."""
    schema = _schema(doc, schema)
    kind = schema.get("type")
    if kind == "integer":
        return HUGE
    if kind == "number":
        return 1e308
    if kind == "array":
        return [_out_of_range(doc, schema.get("items", {}), depth + 1)]
    if kind == "object" and depth < 3:
        return {name: _out_of_range(doc, prop, depth + 1) for name, prop in schema.get("properties", {}).items()}
    if schema.get("format") in ("date", "date-time"):
        return "9999-12-31T23:59:59-12:00"
    if "enum" in schema:
        return schema["enum"][0]
    return "²"


def _requests(doc: dict, operation: dict, version: int):
    """One odd thing at a time, so that it is not refused for another: each query
    parameter with each odd value, and each field of the body out of range (beside the
    version a move needs)."""
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "query":
            for odd in ODD_VALUES:
                yield {parameter["name"]: odd}, None
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None:
        properties = _schema(doc, body["schema"]).get("properties", {})
        for name, prop in properties.items():
            yield {}, {**({"version": version} if "version" in properties else {}), name: _out_of_range(doc, prop)}
    yield {}, None


def test_no_api_operation_answers_500_to_values_out_of_range(api, world):
    people = People(world)
    case = intake(people.grid_worker).case
    api.login_as(people.dispatcher)
    doc = api.get("/api/v1/openapi.json").json()
    headers = {"Authorization": f"Bearer {api.token}"}
    answered = []
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            urls = [re.sub(r"\{[^}]+\}", odd, path) for odd in ODD_VALUES if odd]
            # And the real case, with each value a path parameter takes (every action).
            named = path.replace("{case_id}", str(case.pk))
            for parameter in operation.get("parameters", []):
                values = _schema(doc, parameter.get("schema", {})).get("enum")
                if parameter["in"] == "path" and values:
                    urls += [named.replace("{" + parameter["name"] + "}", str(v)) for v in values]
            urls.append(re.sub(r"\{[^}]+\}", "1", named))
            for url in urls:
                for query, data in _requests(doc, operation, case.version):
                    if method == "get":
                        response = api.client.get(url, query, headers=headers)
                    else:
                        response = api.client.generic(
                            method.upper(),
                            f"{url}?{urlencode(query)}" if query else url,
                            json.dumps(data) if data is not None else "",
                            content_type="application/json",
                            headers=headers,
                        )
                    answered.append((method, url, query, data, response.status_code))
    failures = [a for a in answered if a[-1] >= 500]
    assert not failures, failures
    assert len({(a[0], a[1]) for a in answered}) > 40  # every operation was reached


def _paths(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _paths(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


# Query parameters the pages read, each given every odd value at once.
PAGE_PARAMETERS = [
    "page", "unit", "unit_id", "period", "from", "to", "metric", "month", "q", "text", "state", "risk", "tier",
    "after", "res", "category", "lon", "lat", "kind", "code", "status", "linked", "joined", "reveal", "next",
]  # fmt: skip


def test_no_page_answers_500_to_values_out_of_range(world):
    people = People(world)
    case = intake(people.grid_worker).case
    pages = sorted(
        "/" + raw
        for raw in set(_paths(get_resolver().url_patterns))
        if not raw.startswith(("admin", "api/", "open311")) and "(" not in raw
    )
    answered = []
    for user in (people.dispatcher, people.community, None):
        client = Client()
        if user is not None:
            client.force_login(user)
        for page in pages:
            url = re.sub(r"<int:case_id>", str(case.pk), page)
            url = re.sub(r"<int:[^>]+>", "1", url)
            url = re.sub(r"<(?:\w+:)?[^>]+>", "x", url)
            for odd in ODD_VALUES:
                response = client.get(url, {name: odd for name in PAGE_PARAMETERS})
                answered.append((url, odd, response.status_code))
    failures = [a for a in answered if a[2] >= 500]
    assert not failures, failures
    assert len({url for url, _, _ in answered}) > 20
