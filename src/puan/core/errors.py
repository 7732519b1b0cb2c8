"""One small hierarchy of domain errors, mapped to HTTP in one place (`puan.api`)."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation


class DomainError(Exception):
    """Base of every error a service raises on purpose.

    `message` is written in Chinese, as the API answers it. A message with variable parts
    is a template of `%(name)s` placeholders with its `params` (values may be lazy
    translations, such as a state's label): the API gets it filled in Chinese, and a page
    in another language translates the template and the values before filling it in
    (`puan.web.http.message_of`)."""

    status = 400
    code = "error"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None, params=None):
        self.template = message
        self.params = dict(params or {})
        if self.params:
            with translation.override(settings.LANGUAGE_CODE):
                message = message % {name: str(value) for name, value in self.params.items()}
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code

    def as_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return body


class NotVisible(DomainError):
    """The object does not exist for this user (outside their scope): always a 404."""

    status = 404
    code = "not_found"


class NotAllowed(DomainError):
    """The user can see the object but may not do this."""

    status = 403
    code = "forbidden"


class NotAuthenticated(DomainError):
    status = 401
    code = "not_authenticated"


class AccountLocked(NotAuthenticated):
    code = "account_locked"


class Conflict(DomainError):
    """Wrong state for this move."""

    status = 409
    code = "conflict"


class ConcurrentChange(Conflict):
    """The version the client sent is stale: somebody changed the object first."""

    code = "stale_version"

    def __init__(self, message: str = "该记录已被他人修改，请刷新后重试。", **kwargs):
        super().__init__(message, **kwargs)


class InvalidInput(DomainError):
    status = 422
    code = "invalid"


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"
