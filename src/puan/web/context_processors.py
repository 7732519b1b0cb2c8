"""What every page's layout needs: the navigation the signed-in user may use."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from puan.accounts.roles import Role
from puan.accounts.selectors import is_read_only, works_at_a_unit
from puan.core.admin_site import is_administrator
from puan.web.http import is_htmx


@dataclass(frozen=True)
class NavItem:
    url: str
    label: str
    current: bool


def _items(request: HttpRequest) -> list[tuple[str, str]]:
    user = request.user
    roles = set(user.role_codes)
    items: list[tuple[str, str]] = []
    if works_at_a_unit(user):
        items.append(("/work/", _("我的工作台")))
        if not is_read_only(user):
            items.append(("/intake/", _("登记受理")))
    if Role.GRID_WORKER in roles:
        items.append(("/m/", _("网格巡查")))
    items.append(("/inbox/", _("消息中心")))
    if is_administrator(user):
        items.append(("/admin/", _("管理后台")))
    return items


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    path = request.path
    # The session's user comes with their unit, boundary left out (SessionUserBackend).
    unit_name = user.unit.name if user.unit_id else ""
    return {
        "nav_items": [NavItem(url, label, path.startswith(url)) for url, label in _items(request)],
        "nav_unit_name": unit_name,
    }


def error_frame(request: HttpRequest) -> dict:
    """The frame of an error page: the whole page, or, answering an HTMX request (a panel
    refreshing, a move sent), its content alone for the part of the page that asked."""
    return {"error_frame": "fragment.html" if is_htmx(request) else "base.html"}
