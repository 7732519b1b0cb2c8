"""Open311 as an outside system sees it: real HTTP against a running server, standard
library client only, form-encoded POST, then following the request until Puan closes it."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import pytest

from puan.cases import services as case_services
from puan.cases.models import Case
from puan.cases.risk import risk_rules_install_defaults
from puan.cases.tests.helpers import IN_GRID_A1, People
from puan.open311.services import client_system_create

# Transactional, so the server thread sees what the test writes. An earlier transactional
# test may have flushed the rows data migrations ship, so the test installs what it needs.
pytestmark = pytest.mark.django_db(transaction=True)


class Http:
    def __init__(self, base: str):
        self.base = base.rstrip("/") + "/open311/v2/"

    def call(self, method: str, path: str, *, params: dict | None = None, form: dict | None = None):
        url = self.base + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = urllib.parse.urlencode(form, doseq=True).encode("utf-8") if form is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    def json(self, method: str, path: str, **kwargs):
        status, headers, body = self.call(method, path + ".json", **kwargs)
        assert headers["Content-Type"] == "application/json; charset=utf-8"
        return status, json.loads(body)

    def xml(self, method: str, path: str, **kwargs):
        status, headers, body = self.call(method, path + ".xml", **kwargs)
        assert headers["Content-Type"] == "text/xml; charset=utf-8"
        assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
        return status, ET.fromstring(body)


def test_it_serves_an_outside_client_from_discovery_to_a_closed_request(live_server, world):
    risk_rules_install_defaults()  # idempotent: a no-op when the migration's rows are there
    people = People(world)
    _, key = client_system_create(name="12345 市民服务热线平台")
    http = Http(live_server.url)

    # Discover, then list the services and read one definition.
    status, discovery = http.json("GET", "discovery")
    assert status == 200
    endpoint = discovery["endpoints"][0]
    assert endpoint["url"] == live_server.url + "/open311/v2"
    assert "application/json" in endpoint["formats"] and "text/xml" in endpoint["formats"]
    status, services = http.json("GET", "services")
    assert status == 200
    service = next(s for s in services if s["service_code"] == "G11-01")
    status, definition = http.xml("GET", "services/G11-01")
    assert status == 200 and definition.findtext("service_code") == "G11-01"
    codes = [a.findtext("code") for a in definition.findall("attributes/attribute")]
    assert codes == ["public_place", "safety_hazard"]

    # A wrong key is refused in the spec's error format.
    status, errors = http.json("POST", "requests", form={"api_key": "guess", "service_code": "G11-01"})
    assert status == 403 and errors[0]["code"] == 403 and "api_key" in errors[0]["description"]

    # File a report, form-encoded, as the spec's example does.
    lon, lat = IN_GRID_A1
    status, created = http.json(
        "POST",
        "requests",
        form={
            "api_key": key,
            "jurisdiction_id": "puan",
            "service_code": service["service_code"],
            "lat": lat,
            "long": lon,
            "address_string": "长洲街深井社区金洲北路 12 号",
            "description": "人行道被流动摊贩占满，行人只能走机动车道。",
            "first_name": "小明",
            "last_name": "王",
            "phone": "13912345678",
            "email": "wang@example.com",
            "device_id": "android-42",
            "account_id": "12345-u-9",
            "media_url": "https://img.example.com/stall.jpg",
            "attribute[public_place]": "yes",
        },
    )
    assert status == 201, created
    request_id, token = created[0]["service_request_id"], created[0]["token"]
    assert created[0]["service_notice"]

    # Follow it by id and by token.
    status, found = http.json("GET", f"requests/{request_id}")
    assert status == 200 and len(found) == 1
    assert found[0]["status"] == "open" and found[0]["service_code"] == "G11-01"
    assert found[0]["media_url"] == "https://img.example.com/stall.jpg"
    status, by_token = http.xml("GET", f"tokens/{token}")
    assert status == 200 and by_token.findtext("request/service_request_id") == request_id
    status, listed = http.json("GET", "requests", params={"service_request_id": request_id})
    assert [r["service_request_id"] for r in listed] == [request_id]

    # Puan's people handle it: accept, triage, assign, start, resolve.
    case = Case.objects.get(pk=int(request_id))
    handler = people.street if case.tier == 2 else people.community  # a public place grades orange
    for move in ("case_accept", "case_triage", "case_assign", "case_start"):
        case = getattr(case_services, move)(case=case, actor=handler, version=case.version)
    case_services.case_resolve(case=case, actor=handler, version=case.version, outcome="城管已劝离摊贩，恢复通行。")

    status, closed = http.xml("GET", f"requests/{request_id}")
    assert status == 200
    request = closed.find("request")
    assert request.findtext("status") == "closed"
    assert request.findtext("status_notes") == "已办结：城管已劝离摊贩，恢复通行。"
    status, still_closed = http.json("GET", "requests", params={"status": "closed", "service_code": "G11-01"})
    assert [r["service_request_id"] for r in still_closed] == [request_id]

    # Nothing the reporter gave away comes back over the wire.
    for path in (f"requests/{request_id}.json", f"requests/{request_id}.xml", "requests.json", f"tokens/{token}.json"):
        _, _, body = http.call("GET", path)
        text = body.decode("utf-8")
        for secret in ("13912345678", "wang@example.com", "王小明", "android-42", "12345-u-9"):
            assert secret not in text, (secret, path)
