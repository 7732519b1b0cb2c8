"""The JSON API at /api/v1/. Routers live in each app's `api.py`; errors are mapped to
HTTP here, in one place: `{"code", "message", "field"?}`."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from puan.accounts.api import router as accounts_router
from puan.cases.api import router as cases_router
from puan.command.api import router as command_router
from puan.core.auth import API_AUTH
from puan.core.bench_api import router as bench_router
from puan.core.errors import DomainError
from puan.core.rendering import ApiRenderer
from puan.gridops.api import router as gridops_router
from puan.notifications.api import router as notifications_router
from puan.org.api import router as org_router
from puan.supervision.api import reports_router
from puan.supervision.api import router as supervision_router
from puan.taxonomy.api import router as taxonomy_router

api = NinjaAPI(
    title="Puan API",
    version="1",
    description=(
        "埔安社会治理综合平台 JSON API. Authenticate with a bearer token from "
        "`POST /api/v1/auth/token`. Errors are `{code, message, field?}`: 401 not signed in, "
        "403 not allowed, 404 not visible, 409 wrong state or stale version, 422 bad input."
    ),
    auth=API_AUTH,
    renderer=ApiRenderer(),
    urls_namespace="api",
)

api.add_router("", accounts_router)
api.add_router("/units", org_router)
api.add_router("/taxonomy", taxonomy_router)
api.add_router("", cases_router)
api.add_router("", notifications_router)  # /inbox…, /notifications/deliveries…
api.add_router("/supervision", supervision_router)
api.add_router("/reports", reports_router)
api.add_router("/patrols", gridops_router)
api.add_router("/command", command_router)
if settings.PUAN_BENCH_ENDPOINTS:
    api.add_router("/bench", bench_router)


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    errors = []
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form", "payload")]
        errors.append({"field": ".".join(loc) or None, "message": err.get("msg", "invalid")})
    first = errors[0] if errors else {"field": None, "message": "invalid"}
    body = {"code": "invalid", "message": f"输入有误：{first['message']}", "errors": errors}
    if first["field"]:
        body["field"] = first["field"]
    return api.create_response(request, body, status=422)


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    return api.create_response(
        request, {"code": "not_authenticated", "message": "未登录或令牌无效、已过期。"}, status=401
    )


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return api.create_response(request, {"code": "not_found", "message": "对象不存在或无权查看。"}, status=404)


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    return api.create_response(request, {"code": "error", "message": str(exc)}, status=exc.status_code)
