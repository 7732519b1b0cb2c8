from django.contrib import admin
from django.urls import include, path

from puan.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("open311/v2/", include("puan.open311.urls")),
    path("inbox/", include("puan.notifications.urls")),
    path("command/", include("puan.command.urls")),
    # The pages: sign-in, workbench, intake, the grid worker's phone page, the citizen page.
    path("", include("puan.web.urls")),
]
