"""The wire formats of GeoReport v2: JSON and XML bodies, the spec's error body, and the
w3 date-times it sends and receives."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from django.http import HttpResponse
from django.utils import timezone

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}

# In XML every list is a wrapper element holding one element per item (spec names).
XML_ITEM = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}

# Characters XML 1.0 cannot carry at all, even escaped: dropped rather than emitted as a
# document no parser accepts.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class Open311Error(Exception):
    """An error answered in the spec's format: HTTP status plus one or more descriptions."""

    def __init__(self, status: int, *descriptions: str, headers: dict[str, str] | None = None):
        super().__init__("; ".join(descriptions))
        self.status = status
        self.descriptions = list(descriptions)
        self.headers = headers or {}


def render(fmt: str, root: str, data, *, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    """`data` is a list (rendered as `root` holding one item element each) or a dict."""
    if fmt == "json":
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    else:
        element = ET.Element(root)
        _fill(element, root, data)
        body = '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="unicode")
    response = HttpResponse(body.encode("utf-8"), status=status, content_type=FORMATS[fmt])
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def render_errors(fmt: str, status: int, descriptions: list[str], headers: dict[str, str] | None = None):
    errors = [{"code": status, "description": d} for d in descriptions]
    return render(fmt, "errors", errors, status=status, headers=headers)


def _fill(element: ET.Element, tag: str, value) -> None:
    if isinstance(value, list):
        item_tag = XML_ITEM[tag]
        for item in value:
            _fill(ET.SubElement(element, item_tag), item_tag, item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), key, item)
    elif value is None:
        return  # an empty element, as the spec's examples show for absent values
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = _XML_INVALID.sub("", str(value))


# --- date-times -----------------------------------------------------------------------


def w3(value: datetime | None) -> str | None:
    """The spec's w3 form with the offset, in the district's time zone, to the second."""
    if value is None:
        return None
    return timezone.localtime(value).replace(microsecond=0).isoformat()


# A `+` in a query string arrives as a space: "…T10:00:00 08:00" meant "…T10:00:00+08:00".
_LOST_PLUS = re.compile(r"^(?P<time>.*\d{2}:?\d{2}(?::?\d{2}(?:[.,]\d+)?)?) (?P<offset>\d{2}(?::?\d{2})?)$")
_TIME_PART = re.compile(r"[T ]\d")


def positive_int(raw: str, maximum: int) -> int | None:
    """The integer 1…`maximum` that `raw` spells in ASCII digits, or None (str.isdigit also
    takes "²", which int() refuses)."""
    if not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if 1 <= value <= maximum else None


def parse_when(name: str, raw: str | None, *, end_of_day: bool = False) -> datetime | None:
    """Any ISO 8601 date or date-time a client may send, as an aware datetime.

    Accepts `Z` or an offset (with or without the colon), fractions of a second, a space
    instead of `T`, and plain dates. A plain date means the start of that day in the
    district's time zone, or its last instant when `end_of_day` (so `end_date=2026-05-31`
    includes the whole of 31 May). No offset means the district's time zone. Anything else
    is a 400 that names the parameter.
    """
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    lost = _LOST_PLUS.match(text)
    if lost and _TIME_PART.search(lost["time"]):
        text = f"{lost['time']}+{lost['offset']}"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise Open311Error(
            400, f"{name} 不是有效的 ISO 8601 日期或时间：{raw!r}（示例 2026-05-01T08:00:00+08:00）。"
        ) from None
    try:
        if value.tzinfo is None:
            value = timezone.make_aware(value, timezone.get_current_timezone())
        if end_of_day and not _TIME_PART.search(text):
            value = value + timedelta(days=1) - timedelta(microseconds=1)
        value.astimezone(UTC)  # a moment that has no UTC time (9999-12-31T23:00-05:00) fails here
    except OverflowError:
        raise Open311Error(400, f"{name} 超出可处理的日期范围：{raw!r}。") from None
    return value
