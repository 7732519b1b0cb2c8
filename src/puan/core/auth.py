"""How API callers prove who they are: a bearer token, or the page session (with CSRF)."""

from __future__ import annotations

from ninja.security import APIKeyCookie, HttpBearer

from puan.accounts.services import token_authenticate


class BearerToken(HttpBearer):
    openapi_description = "`Authorization: Bearer <token>` from `POST /api/v1/auth/token`."

    def authenticate(self, request, token: str):
        user = token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class SessionCookie(APIKeyCookie):
    """The signed-in page session; unsafe methods must carry the CSRF token."""

    param_name = "sessionid"
    openapi_description = "The session of a signed-in page user (CSRF required for writes)."

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def authenticate(self, request, key):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            return user
        return None


API_AUTH = [BearerToken(), SessionCookie()]
