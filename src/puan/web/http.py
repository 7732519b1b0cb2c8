"""Small helpers every page view uses."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext

from puan.accounts.selectors import works_at_a_unit
from puan.core.errors import DomainError, RateLimited
from puan.core.ratelimit import address_digest, rate_limit_hit


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def message_of(error: DomainError) -> str:
    """The error's message in the page's language (services write Chinese; the English
    catalogue translates the common ones, the rest stay Chinese rather than vanish). A
    message with variable parts is translated as its template, then filled in with its
    values in the same language."""
    if not error.params:
        return gettext(error.message)
    return gettext(error.template) % {name: str(value) for name, value in error.params.items()}


def _page_of_panel(request: HttpRequest) -> str:
    """The page an HTMX request came from (its path and query), to come back to after
    signing in; the start page when the header is missing, malformed or points elsewhere."""
    try:
        parts = urlsplit(request.headers.get("HX-Current-URL", ""))
    except ValueError:
        return "/"
    back = parts.path + (f"?{parts.query}" if parts.query else "")
    if back.startswith("/") and url_has_allowed_host_and_scheme(back, allowed_hosts=None):
        return back
    return "/"


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in and working at a unit (citizens and volunteers have their own pages). A
    signed-in user who does not gets a 403 rather than a login loop."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            if is_htmx(request):
                # A panel of a page whose session has ended (a refresh, a move sent, a box
                # that follows what is typed): a notice in the panel with the way to sign
                # in, rather than the sign-in form filling the panel or the page leaving
                # what was typed on it.
                login_url = redirect_to_login(_page_of_panel(request)).url
                return render(request, "session_ended.html", {"login_url": login_url}, status=401)
            return redirect_to_login(request.get_full_path())
        if not works_at_a_unit(user):
            return render(
                request,
                "403.html",
                {"reason": gettext("此页面只对各单位工作人员开放。")},
                status=403,
            )
        return view(request, *args, **kwargs)

    return wrapper


def rate_limit_public(request: HttpRequest, scope: str) -> None:
    """Count one public POST against the client's address (shared by every worker process
    through the database); `RateLimited` past `PUAN_CITIZEN_RATE_PER_MINUTE`."""
    limit = int(getattr(settings, "PUAN_CITIZEN_RATE_PER_MINUTE", 10))
    digest = address_digest(request)
    rate_limit_hit(bucket=f"page:{scope}:{digest}", limit=limit)


def rate_limited_response(request: HttpRequest, error: RateLimited) -> HttpResponse:
    response = render(
        request,
        "429.html",
        {"message": gettext("操作过于频繁，请稍后再试。")},
        status=429,
    )
    retry_after = getattr(error, "retry_after", None)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response
