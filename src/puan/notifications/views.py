"""The inbox page (/inbox/): a full page with named partials that HTMX swaps in place."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_http_methods, require_POST

from puan.core.errors import NotVisible
from puan.notifications.selectors import notification_list_for, notification_unread_count
from puan.notifications.services import notification_mark_all_read, notification_mark_read
from puan.web.http import is_htmx

PAGE_SIZE = 30
TEMPLATE = "notifications/inbox.html"


def _unread_only(request: HttpRequest) -> bool:
    return request.GET.get("unread") == "1"


@require_http_methods(["GET", "POST"])
@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """GET shows the inbox; POST marks everything read (HTMX swaps the list, a plain form
    post comes back to the page)."""
    if request.method == "POST":
        notification_mark_all_read(actor=request.user)
        if not is_htmx(request):
            return redirect(request.get_full_path())
    unread_only = _unread_only(request)
    page = Paginator(notification_list_for(user=request.user, unread=unread_only), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {"page": page, "unread_only": unread_only, "unread": notification_unread_count(user=request.user)}
    if request.method == "POST":
        return render(request, f"{TEMPLATE}#inbox_list", context)
    return render(request, TEMPLATE, context)


@require_POST
@login_required
def inbox_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark one read; HTMX gets the item back plus the unread badge out of band."""
    try:
        notification = notification_mark_read(actor=request.user, notification_id=notification_id)
    except NotVisible:
        raise Http404("消息不存在或无权查看。") from None
    if not is_htmx(request):
        return redirect("notifications:inbox")
    context = {"n": notification, "unread": notification_unread_count(user=request.user), "oob": True}
    html = render_to_string(f"{TEMPLATE}#item", context, request) + render_to_string(
        f"{TEMPLATE}#unread_badge", context, request
    )
    return HttpResponse(html)
