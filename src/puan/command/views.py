"""The command-centre page (/command/): a full-screen dashboard for the wall (1920×1080)
that also fits a laptop. The page is a shell; its script fetches each panel from
/api/v1/command and refreshes it (figures every minute, the red-case feed every 3 s)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from puan.command import selectors as sel
from puan.core.errors import NotAllowed, NotVisible

# The page's own policy, as strict as the site's: scripts and styles from our static
# files only (ECharts draws on canvas and sets styles through the CSSOM, which CSP allows).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


@require_GET
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    raw = request.GET.get("unit")
    try:
        unit_id = int(raw) if raw else None
    except ValueError:
        raise Http404("单位不存在。") from None
    try:
        unit = sel.command_unit_for(user=request.user, unit_id=unit_id)
    except NotAllowed as err:
        raise PermissionDenied(err.message) from err
    except NotVisible as err:
        raise Http404(err.message) from err
    period = sel.period_from(None, None)
    context = {
        "unit": unit,
        "breadcrumb": sel.unit_breadcrumb(user=request.user, unit=unit),
        "period": period,
        "metrics": sel.METRICS,
        "as_of": sel.as_of(),
    }
    response = render(request, "command/dashboard.html", context)
    response["Content-Security-Policy"] = CSP
    return response
