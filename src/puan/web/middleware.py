"""Security headers and the language choice for every page."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

# Scripts and styles come only from our own static files: no inline <script>, no inline
# style attributes, no eval. Data reaches scripts through data-* attributes and
# <script type="application/json"> blocks, which the browser never executes.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# Django's admin writes inline style attributes; its scripts are files like ours.
ADMIN_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


class ContentSecurityPolicyMiddleware:
    """Sends the policy on every response that does not set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = ADMIN_CSP if request.path.startswith("/admin/") else CSP
        return response


class LanguageMiddleware(LocaleMiddleware):
    """Simplified Chinese unless the user chose otherwise with the switch.

    Django's LocaleMiddleware would also follow the browser's Accept-Language, so a
    clerk on an English-language browser would get English pages unasked; here only the
    language cookie written by the switch (`set_language`) counts."""

    def process_request(self, request: HttpRequest) -> None:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        codes = {code for code, _ in settings.LANGUAGES}
        language = chosen if chosen in codes else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
