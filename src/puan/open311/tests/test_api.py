"""Every GeoReport v2 endpoint in both formats, and every error the spec describes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from puan.cases import services as case_services
from puan.cases.models import Case, Channel, Risk
from puan.cases.tests.helpers import IN_GRID_A1, IN_GRID_B1, People
from puan.core.models import RateCounter
from puan.open311.models import Open311Request
from puan.open311.services import client_system_create, client_system_revoke
from puan.open311.tests.conftest import report

pytestmark = pytest.mark.django_db

FORMATS = ["json", "xml"]


@pytest.fixture
def people(world):
    return People(world)


def rows(reply) -> list[dict]:
    """Requests (or services) as dicts of text from either format."""
    if isinstance(reply.data, list):
        return reply.data
    return [{child.tag: child.text for child in item} for item in reply.data]


def created_id(reply) -> str:
    return str(rows(reply)[0]["service_request_id"])


# --- discovery and services -----------------------------------------------------------


def test_it_describes_itself_in_discovery_json(o311):
    reply = o311.get("discovery.json")
    assert reply.status == 200
    assert reply.response["Content-Type"] == "application/json; charset=utf-8"
    endpoint = reply.data["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert endpoint["type"] in ("production", "test")
    assert reply.data["changeset"] and reply.data["key_service"] and reply.data["contact"]


def test_it_describes_itself_in_discovery_xml(o311):
    reply = o311.get("discovery.xml")
    assert reply.status == 200
    assert reply.response["Content-Type"] == "text/xml; charset=utf-8"
    assert reply.data.tag == "discovery"
    endpoint = reply.data.find("endpoints/endpoint")
    assert endpoint.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
    assert [f.text for f in endpoint.findall("formats/format")] == ["text/xml", "application/json"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_it_lists_the_public_categories_as_services(o311, fmt):
    reply = o311.get(f"services.{fmt}")
    assert reply.status == 200
    services = {s["service_code"]: s for s in rows(reply)}
    assert "G02-01" not in services  # organised-crime leads are not for the public
    assert "G04-05" not in services
    fight = services["G04-01"]
    assert fight["service_name"] == "打架斗殴"
    assert fight["group"] == "社会治安"
    assert fight["type"] == "realtime"
    assert "," in fight["keywords"]
    assert str(fight["metadata"]).lower() == "true"
    assert str(services["G01-03"]["metadata"]).lower() == "false"  # party building asks nothing more
    codes = list(services)
    assert codes.index("G01-03") < codes.index("G04-01") < codes.index("G16-05")  # taxonomy order


@pytest.mark.parametrize("fmt", FORMATS)
def test_it_defines_the_attributes_of_a_service_mapped_to_risk_facts(o311, fmt):
    reply = o311.get(f"services/G04-01.{fmt}")
    assert reply.status == 200
    if fmt == "json":
        body = reply.data
        attributes = body["attributes"]
    else:
        assert reply.data.tag == "service_definition"
        body = {"service_code": reply.data.findtext("service_code")}
        attributes = [
            {
                **{c.tag: c.text for c in a if c.tag != "values"},
                "values": [{"key": v.findtext("key"), "name": v.findtext("name")} for v in a.findall("values/value")],
            }
            for a in reply.data.findall("attributes/attribute")
        ]
    assert body["service_code"] == "G04-01"
    by_code = {a["code"]: a for a in attributes}
    assert list(by_code) == [
        "emergency_notice",
        "people_involved",
        "injury",
        "danger_to_life",
        "public_place",
        "vulnerable_people",
    ]
    assert str(by_code["emergency_notice"]["variable"]).lower() == "false"
    people = by_code["people_involved"]
    assert (people["datatype"], str(people["required"]).lower(), str(people["order"])) == ("number", "true", "2")
    injury = by_code["injury"]
    assert injury["datatype"] == "singlevaluelist" and str(injury["required"]).lower() == "true"
    assert injury["values"] == [{"key": "yes", "name": "是"}, {"key": "no", "name": "否"}]
    assert str(by_code["danger_to_life"]["required"]).lower() == "false"
    assert all(a["description"] for a in attributes)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("code", ["NOPE-01", "G02-01"])
def test_it_answers_404_for_an_unknown_or_internal_service(o311, fmt, code):
    reply = o311.get(f"services/{code}.{fmt}")
    assert reply.status == 404
    assert reply.errors()[0][0] == 404
    assert code in reply.error_text()


# --- POST requests --------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_it_takes_a_request_in_and_returns_its_id_and_a_token(o311, key_pair, fmt):
    client, key = key_pair
    reply = o311.post(
        f"requests.{fmt}",
        report(
            key,
            first_name="小明",
            last_name="王",
            phone="13912345678",
            email="wang@example.com",
            device_id="dev-42",
            account_id="acct-7",
            media_url="https://img.example.com/a.jpg",
        ),
    )
    assert reply.status == 201, reply.text
    row = rows(reply)[0]
    assert row["token"] and row["service_notice"]
    assert row["account_id"] == "acct-7"
    case = Case.objects.get(pk=int(row["service_request_id"]))
    assert case.channel == Channel.ONLINE and case.category.code == "G11-01"
    assert case.reporter is None and case.reporter_name == "王小明"
    assert case.reporter_phone == "13912345678"
    assert "https://img.example.com/a.jpg" in case.description
    o = Open311Request.objects.get(case=case)
    assert (o.client, o.token, o.device_id, o.account_id) == (client, row["token"], "dev-42", "acct-7")
    assert o.email == "wang@example.com" and o.media_url == "https://img.example.com/a.jpg"
    # Personal data is encrypted at rest.
    raw = Case.objects.filter(pk=case.pk).values_list("reporter_phone", flat=True)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT reporter_phone FROM cases_case WHERE id = %s", [case.pk])
        assert "13912345678" not in cursor.fetchone()[0]
        cursor.execute("SELECT email FROM open311_open311request WHERE id = %s", [o.pk])
        assert "wang@example.com" not in cursor.fetchone()[0]
    assert list(raw) == ["13912345678"]
    # ...and none of it comes back, only the client's own account id above.
    for word in ("13912345678", "wang@example.com", "dev-42", "王小明"):
        assert word not in reply.text


def test_it_maps_attributes_onto_the_cases_risk_facts(o311, key):
    reply = o311.post(
        "requests.json",
        report(
            key,
            service_code="G04-01",
            **{"attribute[people_involved]": "6", "attribute[injury]": "yes", "attribute[danger_to_life]": "no"},
        ),
    )
    assert reply.status == 201, reply.text
    case = Case.objects.get(pk=int(created_id(reply)))
    assert case.risk_facts == {"people_involved": 6, "injury": 1}
    assert case.risk == Risk.RED  # two dimensions orange
    assert Open311Request.objects.get(case=case).attributes == {
        "people_involved": 6,
        "injury": "yes",
        "danger_to_life": "no",
    }


def test_it_links_a_second_report_of_the_same_thing_and_says_so(o311, key):
    first = o311.post("requests.json", report(key))
    second = o311.post("requests.json", report(key, description="又来了"))
    assert (first.status, second.status) == (201, 200)
    assert created_id(first) == created_id(second)
    assert rows(first)[0]["token"] != rows(second)[0]["token"]
    assert "并入" in rows(second)[0]["service_notice"]
    assert Open311Request.objects.filter(case_id=int(created_id(first))).count() == 2


@pytest.mark.parametrize("fmt", FORMATS)
def test_it_places_an_address_only_request_by_the_units_it_names(o311, key, world, fmt):
    reply = o311.post(
        f"requests.{fmt}",
        report(key, lat=None, long=None, address_string="广州市黄埔区长洲街深井社区金洲北路 12 号"),
    )
    assert reply.status == 201, reply.text
    case = Case.objects.get(pk=int(created_id(reply)))
    assert case.community_id == world.community_a.pk and case.grid_id is None and case.lon is None
    assert case.address == "广州市黄埔区长洲街深井社区金洲北路 12 号"
    detail = rows(o311.get(f"requests/{case.pk}.{fmt}"))[0]
    assert detail["address_id"] == "C1" and detail["lat"] is None and detail["long"] is None


def test_it_places_a_request_by_address_id(o311, key, world):
    reply = o311.post("requests.json", report(key, lat=None, long=None, address_id="G21"))
    assert reply.status == 201, reply.text
    case = Case.objects.get(pk=int(created_id(reply)))
    assert case.grid_id == world.grid_b1.pk and case.community_id == world.community_b.pk


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("change", "status", "mentions"),
    [
        ({"api_key": None}, 403, "api_key"),
        ({"api_key": "not-a-key"}, 403, "api_key"),
        ({"jurisdiction_id": "sfgov.org"}, 404, "jurisdiction_id"),
        ({"service_code": None}, 400, "service_code"),
        ({"service_code": "G99-99"}, 404, "service_code"),
        ({"service_code": "G02-01"}, 404, "service_code"),  # internal category
        ({"lat": None, "long": None}, 400, "address_string"),
        ({"long": None}, 400, "long"),
        ({"lat": "north"}, 400, "lat"),
        ({"lat": "nan"}, 400, "lat"),
        ({"long": "200"}, 400, "long"),
        ({"lat": "24.0", "long": "114.0"}, 400, "long"),  # outside the district
        ({"lat": None, "long": None, "address_string": "北京市朝阳区"}, 400, "address_string"),
        ({"lat": None, "long": None, "address_id": "X9"}, 400, "address_id"),
        ({"phone": "12345"}, 400, "phone"),
        ({"email": "not-an-email"}, 400, "email"),
        ({"media_url": "ftp://x.example.com/a.jpg"}, 400, "media_url"),
        ({"description": "长" * 4001}, 400, "description"),
        ({"device_id": "d" * 101}, 400, "device_id"),
        ({"attribute[nonsense]": "1"}, 400, "attribute[nonsense]"),
        ({"attribute[public_place]": "maybe"}, 400, "attribute[public_place]"),
        ({"attribute[public_place]": ["yes", "no"]}, 400, "attribute[public_place]"),
        ({"service_code": "G04-01", "attribute[injury]": "no"}, 400, "attribute[people_involved]"),
        (
            {"service_code": "G04-01", "attribute[people_involved]": "-1", "attribute[injury]": "no"},
            400,
            "attribute[people_involved]",
        ),
        (
            {"service_code": "G04-01", "attribute[people_involved]": "2.5", "attribute[injury]": "no"},
            400,
            "attribute[people_involved]",
        ),
        ({"service_code": "G04-01", "attribute[emergency_notice]": "ok"}, 400, "attribute[emergency_notice]"),
    ],
)
def test_it_refuses_a_bad_post_in_the_specs_error_format(o311, key, fmt, change, status, mentions):
    body = {k: v for k, v in {**report(key), **change}.items() if v is not None}
    reply = o311.post(f"requests.{fmt}", body)
    assert reply.status == status, reply.text
    assert reply.errors()[0][0] == status
    assert mentions in reply.error_text()
    assert not Case.objects.exists()


def test_it_reports_several_bad_parameters_at_once(o311, key):
    reply = o311.post("requests.json", report(key, service_code=None, lat="x", long="y"))
    assert reply.status == 400
    text = reply.error_text()
    assert len(reply.errors()) == 3 and "lat" in text and "long" in text and "service_code" in text


def test_it_accepts_the_right_jurisdiction_and_refuses_a_revoked_key(o311, key_pair, settings):
    client, key = key_pair
    assert o311.post("requests.json", report(key, jurisdiction_id="puan")).status == 201
    client_system_revoke(client=client)
    reply = o311.post("requests.xml", report(key, lon_lat=IN_GRID_B1))
    assert reply.status == 403 and "停用" in reply.error_text()


@pytest.mark.parametrize("fmt", FORMATS)
def test_it_refuses_a_json_body(o311, key, fmt):
    import json

    response = o311.http.post(f"/open311/v2/requests.{fmt}", json.dumps(report(key)), content_type="application/json")
    assert response.status_code == 400
    assert "x-www-form-urlencoded" in response.content.decode()


# --- GET requests ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_it_returns_one_request_as_a_list_of_one_with_every_field(o311, key, world, fmt):
    created = o311.post("requests.json", report(key, media_url="https://img.example.com/b.jpg"))
    case_id = created_id(created)
    reply = o311.get(f"requests/{case_id}.{fmt}")
    assert reply.status == 200
    listed = rows(reply)
    assert len(listed) == 1
    row = listed[0]
    assert list(row) == [
        "service_request_id",
        "status",
        "status_notes",
        "service_name",
        "service_code",
        "description",
        "agency_responsible",
        "service_notice",
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
        "address",
        "address_id",
        "zipcode",
        "lat",
        "long",
        "media_url",
    ]
    case = Case.objects.select_related("lead_department").get(pk=int(case_id))
    assert row["service_request_id"] == case_id
    assert (row["status"], row["status_notes"]) == ("open", "已登记")
    assert (row["service_code"], row["service_name"]) == ("G11-01", "占道经营")
    assert row["agency_responsible"] == case.lead_department.name
    assert row["description"].startswith("人行道上有流动摊贩")
    assert row["media_url"] == "https://img.example.com/b.jpg"
    assert row["address_id"] == "G11" and "深井社区第01网格" in row["address"]
    assert float(row["lat"]) == IN_GRID_A1[1] and float(row["long"]) == IN_GRID_A1[0]
    assert row["requested_datetime"] == timezone.localtime(case.created_at).replace(microsecond=0).isoformat()
    assert row["requested_datetime"].endswith("+08:00")
    assert row["expected_datetime"] == timezone.localtime(case.resolve_due_at).replace(microsecond=0).isoformat()
    assert "简事快办" in row["service_notice"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_it_maps_a_token_to_its_request(o311, key, fmt):
    created = rows(o311.post("requests.json", report(key)))[0]
    reply = o311.get(f"tokens/{created['token']}.{fmt}")
    assert reply.status == 200
    assert rows(reply) == [{"service_request_id": created["service_request_id"], "token": created["token"]}]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("path", ["requests/999999", "requests/abc", "tokens/nope"])
def test_it_answers_404_for_an_unknown_request_or_token(o311, fmt, path):
    reply = o311.get(f"{path}.{fmt}")
    assert reply.status == 404 and reply.errors()[0][0] == 404


def _intake(people, *, days_ago: float = 0, category="G11-01", lon_lat=IN_GRID_A1, **extra):
    lon, lat = lon_lat
    data = case_services.IntakeInput(
        kind="event",
        channel="patrol",
        category_code=category,
        title="占道",
        description=extra.pop("description", "占道经营"),
        lon=lon,
        lat=lat,
        **extra,
    )
    now = timezone.now() - timedelta(days=days_ago)
    return case_services.case_intake(actor=people.grid_worker, data=data, now=now).case


def ids(reply) -> list[str]:
    return [str(r["service_request_id"]) for r in rows(reply)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_it_filters_requests_by_id_code_status_and_date(o311, people, fmt):
    old = _intake(people, days_ago=100)
    a = _intake(people, days_ago=10)
    b = _intake(people, days_ago=5, category="G10-01", lon_lat=IN_GRID_B1)
    c = _intake(people, days_ago=1, category="G05-02", lon_lat=(113.415, 23.105))
    case_services.case_reject(case=c, actor=people.community, version=c.version, note="经核实不属实。")
    internal = _intake(people, days_ago=1, category="G02-02")

    everything = o311.get(f"requests.{fmt}")
    assert everything.status == 200
    # Newest first, the default 90 days only, internal categories never.
    assert ids(everything) == [str(c.pk), str(b.pk), str(a.pk)]
    assert str(old.pk) not in ids(everything) and str(internal.pk) not in ids(everything)

    # A list of ids overrides every other argument (even the 90-day window).
    by_id = o311.get(f"requests.{fmt}", service_request_id=f"{old.pk},{a.pk}", status="closed")
    assert sorted(ids(by_id)) == sorted([str(old.pk), str(a.pk)])
    assert ids(o311.get(f"requests.{fmt}", service_request_id=str(internal.pk))) == []

    assert ids(o311.get(f"requests.{fmt}", service_code="G10-01,G05-02")) == [str(c.pk), str(b.pk)]
    assert ids(o311.get(f"requests.{fmt}", service_code="G10-01", status="open")) == [str(b.pk)]

    start = (timezone.now() - timedelta(days=7)).isoformat()
    end = (timezone.now() - timedelta(days=2)).isoformat()
    assert ids(o311.get(f"requests.{fmt}", start_date=start, end_date=end)) == [str(b.pk)]
    # start alone: 90 days from it; end alone: 90 days up to it.
    long_ago = (timezone.now() - timedelta(days=120)).isoformat()
    assert ids(o311.get(f"requests.{fmt}", start_date=long_ago)) == [str(old.pk)]
    assert ids(o311.get(f"requests.{fmt}", end_date=(timezone.now() - timedelta(days=8)).isoformat())) == [str(a.pk)]


def test_it_maps_puans_states_to_open_and_closed(o311, people, key):
    case_id = int(created_id(o311.post("requests.json", report(key))))
    case = Case.objects.get(pk=case_id)
    rejected = _intake(people, category="G10-01", lon_lat=IN_GRID_B1)

    def status(pk):
        return rows(o311.get(f"requests/{pk}.json"))[0]

    walk = [
        ("case_accept", {}),
        ("case_triage", {}),
        ("case_assign", {}),
        ("case_start", {}),
    ]
    for move, extra in walk:
        case = getattr(case_services, move)(case=case, actor=people.community, version=case.version, **extra)
        assert status(case_id)["status"] == "open", move
    assert status(case_id)["status_notes"] == "处置中"
    case = case_services.case_resolve(
        case=case, actor=people.community, version=case.version, outcome="已联系城管劝离摊贩，恢复通行。"
    )
    row = status(case_id)
    assert row["status"] == "closed"
    assert row["status_notes"] == "已办结：已联系城管劝离摊贩，恢复通行。"
    assert row["updated_datetime"] == timezone.localtime(case.resolved_at).replace(microsecond=0).isoformat()
    assert row["service_notice"] is None
    case = case_services.case_verify(case=case, actor=people.street, version=case.version)
    assert status(case_id)["status"] == "closed"
    assert status(case_id)["status_notes"].startswith("已核查：已联系城管")

    case_services.case_reject(
        case=rejected, actor=people.other_community, version=rejected.version, note="属于私人纠纷，已告知。"
    )
    row = status(rejected.pk)
    assert (row["status"], row["status_notes"]) == ("closed", "不予受理：属于私人纠纷，已告知。")

    closed = o311.get("requests.json", status="closed")
    assert sorted(ids(closed)) == sorted([str(case_id), str(rejected.pk)])
    assert ids(o311.get("requests.json", status="open")) == []
    assert len(ids(o311.get("requests.json", status="open,closed"))) == 2


def test_it_says_open_again_when_a_case_is_reopened(o311, people, key):
    case = Case.objects.get(pk=int(created_id(o311.post("requests.json", report(key)))))
    for move in ("case_accept", "case_triage", "case_assign", "case_start"):
        case = getattr(case_services, move)(case=case, actor=people.community, version=case.version)
    case = case_services.case_resolve(case=case, actor=people.community, version=case.version, outcome="已处理")
    case = case_services.case_verify(case=case, actor=people.street, version=case.version)
    case = case_services.case_reopen(
        case=case, actor=people.dispatcher, version=case.version, note="回访发现摊贩仍在。"
    )
    row = rows(o311.get(f"requests/{case.pk}.json"))[0]
    assert (row["status"], row["status_notes"]) == ("open", "已重启：回访发现摊贩仍在。")


def test_it_pages_through_requests(o311, people):
    cases = [_intake(people, days_ago=i, lon_lat=(113.401 + i * 0.0015, 23.105)) for i in range(5)]
    first = o311.get("requests.json", page_size="2")
    second = o311.get("requests.json", page_size="2", page="2")
    third = o311.get("requests.json", page_size="2", page="3")
    beyond = o311.get("requests.json", page_size="2", page="9")
    assert ids(first) + ids(second) + ids(third) == [str(c.pk) for c in cases]
    assert ids(beyond) == []


def test_it_filters_by_when_requests_were_updated(o311, people):
    quiet = _intake(people, days_ago=200)
    busy = _intake(people, days_ago=200, lon_lat=IN_GRID_B1)
    Case.objects.filter(pk=quiet.pk).update(updated_at=timezone.now() - timedelta(days=150))
    since = (timezone.now() - timedelta(days=1)).isoformat()
    # updated_* alone is a sync query: not narrowed to requests made in the last 90 days.
    assert ids(o311.get("requests.json", updated_after=since)) == [str(busy.pk)]
    before = (timezone.now() - timedelta(days=100)).isoformat()
    assert ids(o311.get("requests.json", updated_before=before)) == [str(quiet.pk)]


@pytest.mark.parametrize(
    "value",
    [
        "2026-01-05T08:15:30Z",
        "2026-01-05T08:15:30.123456Z",
        "2026-01-05T08:15:30.1Z",
        "2026-01-05T08:15:30+08:00",
        "2026-01-05T08:15:30+0800",
        "2026-01-05T08:15:30-05:00",
        "2026-01-05 08:15:30",
        "2026-01-05T08:15",
        "2026-01-05",
        "20260105T081530Z",
    ],
)
def test_it_accepts_any_iso_8601_date_a_client_sends(o311, value):
    assert o311.get("requests.json", start_date=value).status == 200


def test_it_keeps_a_plus_offset_that_arrived_as_a_space(o311):
    # An unencoded "+08:00" in a query string reaches the server as " 08:00".
    response = o311.http.get("/open311/v2/requests.json?start_date=2026-01-05T08:15:30+08:00")
    assert response.status_code == 200


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("params", "mentions"),
    [
        ({"start_date": "yesterday"}, "start_date"),
        ({"end_date": "2026-13-01"}, "end_date"),
        ({"updated_after": "2026-01-05T25:00:00Z"}, "updated_after"),
        ({"updated_before": "05/01/2026"}, "updated_before"),
        ({"start_date": "2026-01-01", "end_date": "2026-06-01"}, "90"),
        ({"start_date": "2026-06-01", "end_date": "2026-01-01"}, "end_date"),
        ({"status": "pending"}, "status"),
        ({"service_request_id": "1,x"}, "service_request_id"),
        ({"service_request_id": "²"}, "service_request_id"),
        ({"service_request_id": "99999999999999999999"}, "service_request_id"),
        ({"start_date": "9999-12-31"}, "start_date"),
        ({"end_date": "9999-12-31"}, "end_date"),
        ({"updated_before": "9999-12-31T23:00:00-05:00"}, "updated_before"),
        ({"page": "0"}, "page"),
        ({"page": "²"}, "page"),
        ({"page_size": "1001"}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
        ({"jurisdiction_id": "sfgov.org"}, "jurisdiction_id"),
        ({"api_key": "wrong"}, "api_key"),
    ],
)
def test_it_refuses_bad_query_parameters_naming_them(o311, fmt, params, mentions):
    reply = o311.get(f"requests.{fmt}", **params)
    expected = 404 if "jurisdiction_id" in params else 403 if "api_key" in params else 400
    assert reply.status == expected, reply.text
    assert reply.errors()[0][0] == expected
    assert mentions in reply.error_text()


def test_it_answers_a_request_id_that_is_no_number_with_404(o311):
    for raw in ("²", "99999999999999999999"):
        assert o311.get(f"requests/{raw}.json").status == 404


def test_it_names_every_malformed_date_at_once(o311):
    reply = o311.get("requests.json", start_date="x", end_date="y")
    assert reply.status == 400
    assert [d.split(" ")[0] for _, d in reply.errors()] == ["start_date", "end_date"]


# --- formats, methods, paths ----------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["services.html", "services.JSONP", "requests.csv", "services", "requests", "nothing/here.json", ""]
)
def test_it_answers_404_for_an_unknown_format_or_path(o311, path):
    reply = o311.get(path)
    assert reply.status == 404
    assert reply.errors()[0][0] == 404


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "services", "GET"),
        ("DELETE", "requests", "GET, POST"),
        ("PUT", "requests/1", "GET"),
        ("POST", "discovery", "GET"),
        ("POST", "tokens/abc", "GET"),
        ("PATCH", "services/G04-01", "GET"),
    ],
)
def test_it_answers_405_for_a_wrong_method(o311, fmt, method, path, allow):
    from puan.open311.tests.conftest import Reply

    response = o311.http.generic(method, f"/open311/v2/{path}.{fmt}", "", "application/x-www-form-urlencoded")
    reply = Reply(response)
    assert reply.status == 405
    assert response["Allow"] == allow
    assert reply.errors()[0][0] == 405


def test_it_escapes_text_for_xml_and_drops_characters_xml_cannot_carry(o311, key):
    text = 'A <b>bold</b> & "quoted" claim\x01 with ]]> inside'
    case_id = created_id(o311.post("requests.json", report(key, description=text)))
    reply = o311.get(f"requests/{case_id}.xml")
    assert reply.status == 200
    assert reply.data.find("request/description").text == 'A <b>bold</b> & "quoted" claim with ]]> inside'
    assert "<b>" not in reply.text  # escaped, not markup


# --- privacy --------------------------------------------------------------------------


def valid_id(first17: str) -> str:
    """A resident ID number with its ISO 7064 check character."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


def test_it_never_lets_personal_data_out_through_any_endpoint(o311, people, key_pair):
    _, key = key_pair
    phone, party_phone = "13912345678", "13800138000"
    id_number, party_id = valid_id("11010519491231002"), valid_id("44011219800101123")
    data = case_services.IntakeInput(
        kind="event",
        channel="window",
        category_code="G11-01",
        title="占道",
        description=(
            f"反映人张大伟（电话 {phone}，身份证 {id_number}）称摊贩李小龙占道，联系 li@example.com 或 020-82221234。"
        ),
        lon=IN_GRID_A1[0],
        lat=IN_GRID_A1[1],
        address="张大伟家楼下",
        reporter_name="张大伟",
        reporter_phone=phone,
        reporter_id_number=id_number,
        parties=[case_services.PartyInput(role="respondent", name="李小龙", phone=party_phone, id_number=party_id)],
    )
    case = case_services.case_intake(actor=people.community, data=data).case
    case = case_services.case_reject(
        case=case, actor=people.community, version=case.version, note=f"已电话 {phone} 告知张大伟，另行处理。"
    )
    posted = o311.post(
        "requests.xml",
        report(key, lon_lat=IN_GRID_B1, first_name="四", last_name="赵", phone="13700001111", email="zhao@example.com"),
    )
    token = posted.data.findtext("request/token")
    forbidden = [
        phone,
        "139****5678",
        id_number,
        party_phone,
        party_id,
        "张大伟",
        "李小龙",
        "li@example.com",
        "82221234",
        "13700001111",
        "zhao@example.com",
        "赵四",
    ]
    for fmt in FORMATS:
        for path, params in [
            (f"requests.{fmt}", {}),
            (f"requests.{fmt}", {"api_key": key}),
            (f"requests.{fmt}", {"service_request_id": str(case.pk)}),
            (f"requests/{case.pk}.{fmt}", {}),
            (f"requests/{case.pk}.{fmt}", {"api_key": key}),
            (f"tokens/{token}.{fmt}", {}),
            (f"services.{fmt}", {}),
            (f"services/G11-01.{fmt}", {}),
            (f"discovery.{fmt}", {}),
        ]:
            reply = o311.get(path, **params)
            assert reply.status == 200, (path, reply.text)
            for value in forbidden:
                assert value not in reply.text, (value, path)
    row = rows(o311.get(f"requests/{case.pk}.json"))[0]
    assert row["status"] == "closed"
    assert row["status_notes"] == "不予受理：已电话 [已隐去] 告知[已隐去]，另行处理。"
    assert row["address"] == "[已隐去]家楼下"
    assert "摊贩[已隐去]占道" in row["description"]


def test_it_shows_a_personal_matter_in_full_only_to_the_client_that_filed_it(o311, key):
    _, other_key = client_system_create(name="街道小程序")
    body = report(key, service_code="G15-01", **{"attribute[people_involved]": "2"})
    body["description"] = "楼上邻居深夜装修噪音，协商无果。"
    case_id = created_id(o311.post("requests.json", body))
    own = rows(o311.get(f"requests/{case_id}.json", api_key=key))[0]
    assert own["description"] == "楼上邻居深夜装修噪音，协商无果。" and own["lat"] is not None
    for params in ({}, {"api_key": other_key}):
        seen = rows(o311.get(f"requests/{case_id}.json", **params))[0]
        assert seen["status"] == "open" and seen["service_code"] == "G15-01"
        assert seen["description"] is None and seen["address"] is None
        assert seen["lat"] is None and seen["long"] is None and seen["address_id"] is None
    # A second reporter's client joins the case, but does not get to read the first report.
    joined = o311.post("requests.json", {**body, "api_key": other_key, "description": "同一件事"})
    assert created_id(joined) == case_id
    assert rows(o311.get(f"requests/{case_id}.json", api_key=other_key))[0]["description"] is None


@pytest.mark.parametrize("service_code", ["G04-03", "G03-02"])
def test_it_publishes_no_detail_of_a_tip_off_or_a_matter_naming_a_child(o311, key, service_code):
    body = report(key, service_code=service_code, **{"attribute[people_involved]": "3", "attribute[injury]": "no"})
    body["description"] = "3号楼302房每晚有人聚众，房主姓陈；孩子李小明受到威胁。"
    case_id = created_id(o311.post("requests.json", body))
    assert rows(o311.get(f"requests/{case_id}.json", api_key=key))[0]["description"].startswith("3号楼302房")
    seen = rows(o311.get(f"requests/{case_id}.json"))[0]
    assert seen["service_code"] == service_code and seen["description"] is None
    assert seen["lat"] is None and seen["address"] is None
    listed = [r for r in rows(o311.get("requests.json")) if str(r["service_request_id"]) == str(case_id)]
    assert listed and listed[0]["description"] is None


def test_it_keeps_a_request_moved_to_an_internal_category_visible_only_to_its_client(o311, people, key):
    case = Case.objects.get(pk=int(created_id(o311.post("requests.json", report(key)))))
    case = case_services.case_accept(case=case, actor=people.community, version=case.version)
    case_services.case_triage(case=case, actor=people.community, version=case.version, category_code="G02-02")
    assert o311.get(f"requests/{case.pk}.json").status == 404
    assert str(case.pk) not in ids(o311.get("requests.json"))
    own = rows(o311.get(f"requests/{case.pk}.json", api_key=key))[0]
    # Shown under the service the client chose, never under the internal category.
    assert (own["service_code"], own["service_name"]) == ("G11-01", "占道经营")
    assert own["description"].startswith("人行道上有流动摊贩")  # the client's own report
    assert str(case.pk) in ids(o311.get("requests.json", api_key=key))


# --- rate limits ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_it_limits_posts_per_key_per_minute(o311, key, settings, fmt):
    settings.PUAN_OPEN311_RATE_PER_MINUTE = 2
    _, other_key = client_system_create(name="另一系统")
    points = [IN_GRID_A1, IN_GRID_B1, (113.415, 23.105)]
    assert o311.post(f"requests.{fmt}", report(key, lon_lat=points[0])).status == 201
    assert o311.post(f"requests.{fmt}", report(key, lon_lat=points[1])).status == 201
    refused = o311.post(f"requests.{fmt}", report(key, lon_lat=points[2]))
    assert refused.status == 429
    assert refused.errors()[0][0] == 429 and "2" in refused.error_text()
    assert 1 <= int(refused.response["Retry-After"]) <= 60
    assert Case.objects.count() == 2
    # Another client's allowance is its own.
    assert o311.post(f"requests.{fmt}", report(other_key, lon_lat=points[2])).status == 201


def test_it_lets_a_client_systems_own_limit_win(o311, key_pair, settings):
    client, key = key_pair
    settings.PUAN_OPEN311_RATE_PER_MINUTE = 1
    client.rate_per_minute = 3
    client.save()
    statuses = [o311.post("requests.json", report(key, lon_lat=p)).status for p in (IN_GRID_A1, IN_GRID_B1)]
    assert statuses == [201, 201]


def test_it_counts_in_the_database_so_every_process_shares_the_limit(o311, key_pair, settings):
    client, key = key_pair
    settings.PUAN_OPEN311_RATE_PER_MINUTE = 5
    # Another worker process has already used this minute's allowance.
    minute = int(timezone.now().timestamp() // 60)
    RateCounter.objects.create(bucket=f"post:{client.pk}", minute=minute, count=5)
    assert o311.post("requests.json", report(key)).status == 429


def test_it_limits_anonymous_gets_per_ip_and_keyed_gets_per_key(o311, key, settings):
    settings.PUAN_OPEN311_GET_RATE_PER_MINUTE = 2
    assert [o311.get("services.json").status for _ in range(3)] == [200, 200, 429]
    # Another address has its own allowance; so does a caller that sends its key.
    from django.test import Client

    elsewhere = Client(REMOTE_ADDR="10.0.0.2")
    assert elsewhere.get("/open311/v2/services.json").status_code == 200
    assert [o311.get("services.json", api_key=key).status for _ in range(3)] == [200, 200, 429]


def test_it_reads_the_client_address_from_the_configured_proxy_header(o311, settings):
    settings.PUAN_OPEN311_GET_RATE_PER_MINUTE = 1
    settings.PUAN_OPEN311_IP_HEADER = "X-Real-IP"
    assert o311.http.get("/open311/v2/services.json", headers={"X-Real-IP": "1.1.1.1"}).status_code == 200
    assert o311.http.get("/open311/v2/services.json", headers={"X-Real-IP": "2.2.2.2"}).status_code == 200
    assert o311.http.get("/open311/v2/services.json", headers={"X-Real-IP": "1.1.1.1"}).status_code == 429


# --- cost -----------------------------------------------------------------------------


def test_it_lists_requests_in_a_fixed_number_of_queries(o311, people, key, django_assert_max_num_queries):
    for i in range(3):
        _intake(people, days_ago=i, lon_lat=(113.401 + i * 0.0015, 23.105))
    with django_assert_max_num_queries(12) as few:
        assert len(ids(o311.get("requests.json", api_key=key))) == 3
    for i in range(3, 12):
        _intake(people, days_ago=i, lon_lat=(113.401 + (i % 6) * 0.0045, 23.102 + (i // 6) * 0.005))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(ids(o311.get("requests.json", api_key=key))) == 12
