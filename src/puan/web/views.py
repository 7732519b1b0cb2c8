"""The front door and the error pages every screen shares."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from puan.accounts.roles import Role
from puan.accounts.selectors import works_at_a_unit


def home_for(user) -> str:
    """Where a user starts the day: the phone page for grid workers, the workbench for
    other staff, the citizen page for anyone else (volunteers included)."""
    if not user.is_authenticated:
        return "/login/"
    if not works_at_a_unit(user):
        return "/public/"
    if Role.GRID_WORKER in user.role_codes and len(user.role_codes) == 1:
        return "/m/"
    return "/work/"


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return redirect(home_for(request.user))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Django's own CSRF page carries an inline <style> the CSP would block; this one
    says in the page's language what happened and what to do."""
    return render(
        request,
        "403.html",
        {"reason": gettext("页面已过期或安全校验失败，请刷新页面后重新提交。")},
        status=403,
    )
