from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from django.test import Client

from puan.cases.tests.helpers import IN_GRID_A1

BASE = "/open311/v2/"


class Reply:
    """A response with its body parsed: `.data` is JSON, or an Element for XML."""

    def __init__(self, response):
        self.response = response
        self.status = response.status_code
        self.text = response.content.decode("utf-8")
        if response["Content-Type"].startswith("application/json"):
            self.data = json.loads(self.text)
        else:
            assert self.text.startswith('<?xml version="1.0" encoding="utf-8"?>'), self.text[:80]
            self.data = ET.fromstring(response.content)

    def errors(self) -> list[tuple[int, str]]:
        """[(code, description)] from either format's error body."""
        if isinstance(self.data, list):
            return [(e["code"], e["description"]) for e in self.data]
        assert self.data.tag == "errors"
        return [(int(e.findtext("code")), e.findtext("description")) for e in self.data.findall("error")]

    def error_text(self) -> str:
        return " ".join(d for _, d in self.errors())


class Open311Client:
    def __init__(self):
        self.http = Client(REMOTE_ADDR="10.0.0.1")

    def get(self, path: str, **params) -> Reply:
        return Reply(self.http.get(BASE + path, params))

    def post(self, path: str, data: dict | list) -> Reply:
        # Form encoding, as the spec says; a list of pairs allows repeated keys.
        from urllib.parse import urlencode

        return Reply(
            self.http.generic(
                "POST", BASE + path, urlencode(data, doseq=True), "application/x-www-form-urlencoded; charset=utf-8"
            )
        )


@pytest.fixture
def o311(world) -> Open311Client:
    return Open311Client()


@pytest.fixture
def key_pair(db):
    from puan.open311.services import client_system_create

    return client_system_create(name="12345 热线", contact="值班室")


@pytest.fixture
def key(key_pair) -> str:
    return key_pair[1]


def report(key: str, **extra) -> dict:
    """A valid POST body: a street-vending report (no required attributes) inside grid A1."""
    lon, lat = extra.pop("lon_lat", IN_GRID_A1)
    body = {
        "api_key": key,
        "service_code": "G11-01",
        "lat": str(lat),
        "long": str(lon),
        "description": "人行道上有流动摊贩占道经营，行人只能走机动车道。",
    }
    body.update(extra)
    return {k: v for k, v in body.items() if v is not None}
