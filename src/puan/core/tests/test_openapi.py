from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_it_describes_every_field_of_the_api(client):
    doc = client.get("/api/v1/openapi.json").json()
    missing = [
        f"{name}.{prop}"
        for name, schema in doc["components"]["schemas"].items()
        for prop, spec in schema.get("properties", {}).items()
        if not spec.get("description")
    ]
    assert missing == []
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary") or operation.get("description"), f"{method} {path}"
