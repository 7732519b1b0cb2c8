"""GeoReport v2 over plain Django views: parse the parameters, call one service or
selector, answer in the format the URL's suffix names (`.json` or `.xml`).

Errors always use the spec's body (`[{code, description}]` / `<errors><error>…`), with
the HTTP status the spec asks for: 404 for what does not exist (including an unknown
format suffix), 403 for a missing or bad `api_key`, 405 for a wrong method, 429 past the
rate limit, and 400 for everything else a client got wrong.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from puan.core.errors import DomainError, NotAuthenticated, NotVisible, RateLimited
from puan.core.ratelimit import address_digest, rate_limit_hit
from puan.open311 import selectors, services
from puan.open311.attributes import attributes_for
from puan.open311.formats import FORMATS, Open311Error, parse_when, positive_int, render, render_errors
from puan.open311.models import ClientSystem

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this API's surface last changed (discovery's `changeset`): bump with the docs.
CHANGESET = "2026-11-28T00:00:00+08:00"

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_ATTRIBUTE_KEY = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")


def _status_for(error: DomainError) -> int:
    """Puan's domain errors in Open311's vocabulary: 404, 403, 429, else 400."""
    if isinstance(error, NotVisible):
        return 404
    if isinstance(error, NotAuthenticated) or error.status == 403:
        return 403
    if isinstance(error, RateLimited):
        return 429
    return 400


def _describe(error: DomainError) -> str:
    # The parameter name leads, so a client can tell which of its inputs was refused.
    if error.field and not error.message.startswith(error.field):
        return f"{error.field}：{error.message}"
    return error.message


def _param(request: HttpRequest, name: str) -> str:
    source = request.POST if request.method == "POST" else request.GET
    return (source.get(name) or request.GET.get(name) or "").strip()


def open311_view(*methods: str):
    """Format suffix, method, jurisdiction, optional key and rate limit, error rendering.

    The view receives `fmt` and `client` (the authenticated client system, or None for an
    anonymous GET). POST always needs a key and is limited per key; GET is limited per
    key when one is sent and per client IP address otherwise."""

    def decorate(view: Callable[..., HttpResponse]):
        @csrf_exempt  # called by other systems with a key, never by a browser session
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, fmt: str, **kwargs) -> HttpResponse:
            if fmt not in FORMATS:
                return render_errors("xml", 404, [f"不支持的格式 .{fmt}：请使用 .json 或 .xml。"])
            if request.method not in methods:
                response = render_errors(fmt, 405, [f"{request.method} 不适用于该资源，可用：{', '.join(methods)}。"])
                response["Allow"] = ", ".join(methods)
                return response
            try:
                if request.method == "POST" and request.content_type not in FORM_TYPES:
                    # Checked first: a JSON body would otherwise look like a missing api_key.
                    raise Open311Error(400, "POST 请求体须为 application/x-www-form-urlencoded（UTF-8）。")
                client = _authenticate(request)
                _check_jurisdiction(request)
                return view(request, *args, fmt=fmt, client=client, **kwargs)
            except Open311Error as error:
                return render_errors(fmt, error.status, error.descriptions, error.headers)
            except DomainError as error:
                headers = {}
                if isinstance(error, RateLimited):
                    headers["Retry-After"] = str(getattr(error, "retry_after", 60))
                return render_errors(fmt, _status_for(error), [_describe(error)], headers)

        return wrapper

    return decorate


def _authenticate(request: HttpRequest) -> ClientSystem | None:
    key = _param(request, "api_key")
    if request.method == "POST":
        client = services.client_system_authenticate(key=key)
        rate_limit_hit(bucket=f"post:{client.pk}", limit=services.post_limit_for(client))
        return client
    if key:
        client = services.client_system_authenticate(key=key)
        rate_limit_hit(bucket=f"get:{client.pk}", limit=services.get_limit())
        return client
    rate_limit_hit(bucket=f"ip:{address_digest(request)}", limit=services.get_limit())
    return None


def _check_jurisdiction(request: HttpRequest) -> None:
    # One jurisdiction: the parameter is optional, but a wrong one is refused (spec: 404).
    sent = _param(request, "jurisdiction_id")
    ours = getattr(settings, "PUAN_OPEN311_JURISDICTION_ID", "puan")
    if sent and sent != ours:
        raise Open311Error(404, f"jurisdiction_id {sent!r} 不存在：本接口只服务 {ours}。")


# --- endpoints ------------------------------------------------------------------------


@open311_view("GET")
def discovery(request: HttpRequest, *, fmt: str, client) -> HttpResponse:
    base = request.build_absolute_uri("/open311/v2")
    body = {
        "changeset": CHANGESET,
        "contact": getattr(settings, "PUAN_OPEN311_CONTACT", ""),
        "key_service": getattr(settings, "PUAN_OPEN311_KEY_SERVICE", ""),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base,
                "changeset": CHANGESET,
                "type": "test" if settings.DEBUG else "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render(fmt, "discovery", body)


@open311_view("GET")
def service_list(request: HttpRequest, *, fmt: str, client) -> HttpResponse:
    body = [
        {
            "service_code": c.code,
            "service_name": c.name,
            "description": c.description,
            "metadata": bool(attributes_for(c)),
            "type": "realtime",
            "keywords": ", ".join(c.keywords),
            "group": c.group.name,
        }
        for c in selectors.service_list()
    ]
    return render(fmt, "services", body)


@open311_view("GET")
def service_definition(request: HttpRequest, code: str, *, fmt: str, client) -> HttpResponse:
    category, attributes = selectors.service_get(code=code)
    body = {
        "service_code": category.code,
        "attributes": [
            {
                "variable": a.spec.variable,
                "code": a.code,
                "datatype": a.spec.datatype,
                "required": a.required,
                "datatype_description": a.spec.datatype_description or None,
                "order": a.order,
                "description": a.spec.description,
                "values": [{"key": k, "name": n} for k, n in a.spec.values],
            }
            for a in attributes
        ],
    }
    return render(fmt, "service_definition", body)


@open311_view("GET", "POST")
def requests_collection(request: HttpRequest, *, fmt: str, client) -> HttpResponse:
    if request.method == "POST":
        return _create(request, fmt=fmt, client=client)
    return render(fmt, "service_requests", selectors.request_list(client=client, filters=_filters(request)))


@open311_view("GET")
def request_detail(request: HttpRequest, request_id: str, *, fmt: str, client) -> HttpResponse:
    # The spec answers a single request as a list of one.
    return render(fmt, "service_requests", [selectors.request_get(client=client, request_id=request_id)])


@open311_view("GET")
def token_detail(request: HttpRequest, token: str, *, fmt: str, client) -> HttpResponse:
    return render(fmt, "service_requests", [selectors.token_get(token=token)])


@csrf_exempt
def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    fmt = "json" if path.endswith(".json") else "xml"
    return render_errors(fmt, 404, [f"没有这个资源：/open311/v2/{path}"])


# --- parameters -----------------------------------------------------------------------


def _create(request: HttpRequest, *, fmt: str, client: ClientSystem) -> HttpResponse:
    form = request.POST
    errors: list[str] = []
    lat = _coordinate(form.get("lat", ""), "lat", 90.0, errors)
    long = _coordinate(form.get("long", ""), "long", 180.0, errors)
    if not form.get("service_code", "").strip():
        errors.append("service_code：缺少 service_code。")
    if errors:
        raise Open311Error(400, *errors)
    attributes: dict[str, list[str]] = {}
    for key, values in form.lists():
        match = _ATTRIBUTE_KEY.match(key)
        if match:
            attributes.setdefault(match[1], []).extend(values)
    data = services.SubmitInput(
        service_code=form.get("service_code", ""),
        lat=lat,
        long=long,
        address_string=form.get("address_string", ""),
        address_id=form.get("address_id", ""),
        attributes=attributes,
        description=form.get("description", ""),
        media_url=form.get("media_url", ""),
        email=form.get("email", ""),
        first_name=form.get("first_name", ""),
        last_name=form.get("last_name", ""),
        phone=form.get("phone", ""),
        device_id=form.get("device_id", ""),
        account_id=form.get("account_id", ""),
    )
    result = services.request_submit(client=client, data=data)
    notice = selectors.service_notice(result.case)
    if result.linked:
        notice = "该问题此前已有人反映，您的报告已并入同一工单一并办理。" + (notice or "")
    body = [
        {
            "service_request_id": str(result.case.pk),
            "token": result.request.token,
            "service_notice": notice,
            "account_id": result.request.account_id or None,
        }
    ]
    return render(fmt, "service_requests", body, status=200 if result.linked else 201)


def _coordinate(raw: str, name: str, limit: float, errors: list[str]) -> float | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        errors.append(f"{name}：须为十进制度数（WGS84），收到 {raw!r}。")
        return None
    if not -limit <= value <= limit:  # also refuses NaN
        errors.append(f"{name}：须在 -{limit:g} 到 {limit:g} 之间。")
        return None
    return value


def _positive_int(request: HttpRequest, name: str, default: int, maximum: int) -> int:
    raw = request.GET.get(name, "").strip()
    if not raw:
        return default
    value = positive_int(raw, maximum)
    if value is None:
        raise Open311Error(400, f"{name} 须为 1 到 {maximum} 之间的整数，收到 {raw!r}。")
    return value


def _csv(request: HttpRequest, name: str) -> list[str]:
    values: list[str] = []
    for raw in request.GET.getlist(name):  # "declared multiple times, comma delimited"
        values += [v.strip() for v in raw.split(",") if v.strip()]
    return values


def _filters(request: HttpRequest) -> selectors.RequestFilters:
    ids = _csv(request, "service_request_id")
    bad = [i for i in ids if selectors.row_id(i) is None]
    if bad:
        raise Open311Error(400, f"service_request_id 须为正整数，收到 {bad[0]!r}。")
    statuses = {s.lower() for s in _csv(request, "status")}
    if statuses - {"open", "closed"}:
        raise Open311Error(400, f"status 只能是 open 或 closed，收到 {sorted(statuses - {'open', 'closed'})[0]!r}。")
    errors: list[str] = []
    dates = {}
    for name in ("start_date", "end_date", "updated_after", "updated_before"):
        try:
            dates[name] = parse_when(name, request.GET.get(name), end_of_day=name in ("end_date", "updated_before"))
        except Open311Error as error:
            errors += error.descriptions
    if errors:
        raise Open311Error(400, *errors)
    return selectors.RequestFilters(
        ids=[int(i) for i in ids] if ids else None,
        service_codes=_csv(request, "service_code") or None,
        start=dates["start_date"],
        end=dates["end_date"],
        statuses=statuses or None,
        updated_after=dates["updated_after"],
        updated_before=dates["updated_before"],
        page=_positive_int(request, "page", 1, 1_000_000),
        page_size=_positive_int(request, "page_size", selectors.MAX_PAGE_SIZE, selectors.MAX_PAGE_SIZE),
    )
