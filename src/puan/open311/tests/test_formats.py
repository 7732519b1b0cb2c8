from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone

import pytest

from puan.open311.formats import Open311Error, parse_when, render, render_errors, w3

CST = timezone(timedelta(hours=8))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-01-05T08:15:30Z", datetime(2026, 1, 5, 8, 15, 30, tzinfo=UTC)),
        ("2026-01-05T08:15:30.250Z", datetime(2026, 1, 5, 8, 15, 30, 250000, tzinfo=UTC)),
        ("2026-01-05T08:15:30.1234567Z", datetime(2026, 1, 5, 8, 15, 30, 123456, tzinfo=UTC)),
        ("2026-01-05T08:15:30-05:00", datetime(2026, 1, 5, 13, 15, 30, tzinfo=UTC)),
        ("2026-01-05T08:15:30+0800", datetime(2026, 1, 5, 0, 15, 30, tzinfo=UTC)),
        ("2026-01-05T08:15:30 08:00", datetime(2026, 1, 5, 0, 15, 30, tzinfo=UTC)),  # "+" lost in a URL
        ("2026-01-05 08:15:30 08:00", datetime(2026, 1, 5, 0, 15, 30, tzinfo=UTC)),
        ("2026-01-05 08:15:30", datetime(2026, 1, 5, 8, 15, 30, tzinfo=CST)),  # no offset: Beijing time
        ("2026-01-05T08:15", datetime(2026, 1, 5, 8, 15, tzinfo=CST)),
        ("2026-01-05", datetime(2026, 1, 5, tzinfo=CST)),
        ("20260105T081530Z", datetime(2026, 1, 5, 8, 15, 30, tzinfo=UTC)),
        ("  2026-01-05T08:15:30Z ", datetime(2026, 1, 5, 8, 15, 30, tzinfo=UTC)),
    ],
)
def test_it_parses_every_iso_8601_form_a_client_may_send(raw, expected):
    assert parse_when("start_date", raw) == expected


def test_it_takes_a_plain_end_date_as_the_whole_day():
    end = parse_when("end_date", "2026-01-05", end_of_day=True)
    assert end == datetime(2026, 1, 5, 23, 59, 59, 999999, tzinfo=CST)
    assert parse_when("end_date", "2026-01-05T10:00:00Z", end_of_day=True) == datetime(2026, 1, 5, 10, tzinfo=UTC)


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_it_treats_an_empty_parameter_as_absent(raw):
    assert parse_when("start_date", raw) is None


@pytest.mark.parametrize(
    "raw", ["yesterday", "2026-13-01", "2026-01-05T25:00:00Z", "05/01/2026", "2026-01-05T08:15:30+25:00"]
)
def test_it_refuses_a_malformed_date_naming_the_parameter(raw):
    with pytest.raises(Open311Error) as err:
        parse_when("updated_after", raw)
    assert err.value.status == 400 and err.value.descriptions[0].startswith("updated_after")


def test_it_writes_date_times_in_w3_form_with_the_districts_offset():
    assert w3(datetime(2026, 1, 5, 0, 15, 30, 999, tzinfo=UTC)) == "2026-01-05T08:15:30+08:00"
    assert w3(None) is None


def test_it_renders_lists_with_the_specs_item_element_names():
    body = [{"service_code": "A", "metadata": True, "description": None, "n": 2.5}]
    xml = render("xml", "services", body)
    assert xml["Content-Type"] == "text/xml; charset=utf-8"
    root = ET.fromstring(xml.content)
    assert root.tag == "services"
    service = root.find("service")
    assert [c.tag for c in service] == ["service_code", "metadata", "description", "n"]
    assert (service.findtext("metadata"), service.findtext("description"), service.findtext("n")) == ("true", "", "2.5")
    js = render("json", "services", body)
    assert json.loads(js.content) == body


def test_it_renders_errors_in_the_specs_shape():
    as_json = render_errors("json", 403, ["api_key 无效。"])
    assert as_json.status_code == 403
    assert json.loads(as_json.content) == [{"code": 403, "description": "api_key 无效。"}]
    as_xml = render_errors("xml", 400, ["a", "b"])
    root = ET.fromstring(as_xml.content)
    assert root.tag == "errors"
    assert [(e.findtext("code"), e.findtext("description")) for e in root.findall("error")] == [
        ("400", "a"),
        ("400", "b"),
    ]


def test_it_keeps_non_ascii_text_readable_in_json():
    assert "打架斗殴" in render("json", "services", [{"service_name": "打架斗殴"}]).content.decode("utf-8")
