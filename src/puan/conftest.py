import pytest


@pytest.fixture
def tree(db):
    from puan.org.tests.factories import build_tree

    return build_tree()


class ApiClient:
    """Calls the API as a given user with a real bearer token."""

    def __init__(self):
        from django.test import Client

        self.client = Client()
        self.token = None

    def login_as(self, user):
        from puan.accounts.services import token_issue

        self.token, _ = token_issue(user=user)
        return self

    def _headers(self, headers):
        h = dict(headers or {})
        if self.token:
            h.setdefault("Authorization", f"Bearer {self.token}")
        return h

    def get(self, path, params=None, headers=None):
        return self.client.get(path, params or {}, headers=self._headers(headers))

    def post(self, path, json=None, headers=None):
        import json as _json

        return self.client.post(
            path, _json.dumps(json or {}), content_type="application/json", headers=self._headers(headers)
        )

    def delete(self, path, headers=None):
        return self.client.delete(path, headers=self._headers(headers))


@pytest.fixture
def api(db):
    return ApiClient()


@pytest.fixture
def world(tree):
    """The small tree plus every department and the real taxonomy."""
    import json

    from puan.org.models import UnitLevel
    from puan.org.services import unit_create
    from puan.taxonomy.services import DEFAULT_TAXONOMY_FILE, taxonomy_load

    departments = json.loads(
        (DEFAULT_TAXONOMY_FILE.parent.parent.parent / "org" / "data" / "departments.json").read_text("utf-8")
    )["departments"]
    for d in departments:
        if d["code"] not in ("justice", "police"):
            unit_create(
                code=f"dept.{d['code']}",
                name=d["name"],
                level=UnitLevel.DEPARTMENT,
                parent=tree.district,
                stationing=d["stationing"],
                kind=d.get("kind", ""),
            )
    taxonomy_load()
    return tree
