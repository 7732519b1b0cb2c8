"""The grid worker's phone page (/m/): position and grid, reporting with photos, handling
small matters on the spot, patrol check-in. The page itself is rendered once; the reports
and check-ins go to the JSON API from a queue in the browser (static/puan/outbox.js), so a
worker on a bad network loses nothing: each waits with its idempotency key until it is sent.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from puan.accounts.roles import Role
from puan.cases.models import CaseKind, Channel
from puan.cases.selectors import CaseFilters, case_page
from puan.cases.views import category_groups
from puan.gridops.selectors import patrol_checkins_of, patrol_count_since
from puan.org.models import Unit, UnitLevel
from puan.web.http import staff_required

# Bump when the cached page shell changes shape: the service worker drops older caches.
SW_VERSION = "1"
# What a grid worker reports most: the first choices of the kind select.
MOBILE_KINDS = [CaseKind.HAZARD, CaseKind.EVENT, CaseKind.DISPUTE, CaseKind.APPEAL, CaseKind.EMERGENCY]


@require_GET
@never_cache
@staff_required
def mobile(request: HttpRequest) -> HttpResponse:
    user = request.user
    if Role.GRID_WORKER not in user.role_codes:
        return render(request, "403.html", {"reason": gettext("网格巡查页面只对网格员开放。")}, status=403)
    grid = Unit.objects.filter(pk=user.unit_id, level=UnitLevel.GRID).values("pk", "name", "boundary").first()
    recent, _next = case_page(user=user, filters=CaseFilters(channel=Channel.PATROL), cursor=None, limit=8)
    page_data = {
        # Queued items carry their author: after a change of account on a shared phone,
        # nothing is sent under the wrong name.
        "user": user.pk,
        "grid": {"id": grid["pk"], "name": grid["name"]} if grid else None,
        "urls": {
            "cases": "/api/v1/cases",
            "attachments": "/api/v1/attachments",
            "checkins": "/api/v1/patrols/checkins",
            "locate": "/api/v1/units/locate",
            "case": reverse("cases:case", args=[0]).replace("/0/", "/{id}/"),
            "login": reverse("accounts:login") + "?next=" + request.path,
            "home": reverse("mobile:home"),
            "serviceWorker": reverse("mobile:service_worker"),
        },
    }
    context = {
        "category_groups": category_groups(),
        "kinds": [(k.value, k.label) for k in MOBILE_KINDS],
        "page_data": page_data,
        "grid_map": {"name": grid["name"], "boundary": grid["boundary"], "point": None}
        if grid and grid["boundary"]
        else None,
        "checkins": patrol_checkins_of(user=user, limit=5),
        "checkins_today": patrol_count_since(user=user),
        "recent": recent,
    }
    return render(request, "cases/mobile.html", context)


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The phone page's service worker, served from /m/ so that its scope is /m/."""
    response = render(request, "cases/sw.js", {"version": SW_VERSION}, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response
