"""Every page's address. The JSON API (/api/v1/), the admin and Open311 are routed in
puan/urls.py; everything a person opens in a browser is here."""

from django.urls import include, path

from puan.accounts import views as accounts
from puan.cases import views as workbench
from puan.cases import views_citizen as citizen
from puan.cases import views_intake as intake
from puan.cases import views_mobile as mobile
from puan.cases import views_receipt as receipt
from puan.web import views

account_patterns = [
    path("login/", accounts.login_view, name="login"),
    path("logout/", accounts.logout_view, name="logout"),
    path("account/password/", accounts.password_change_view, name="password_change"),
]

case_patterns = [
    path("work/", workbench.queue, name="queue"),
    path("work/cases/<int:case_id>/", workbench.case_page, name="case"),
    path("work/cases/<int:case_id>/moves/<slug:action>/", workbench.case_move, name="move"),
    path("work/cases/<int:case_id>/receipt.pdf", receipt.case_receipt, name="receipt"),
    path("work/map/area.json", intake.area_geojson, name="area_geojson"),
    path("intake/", intake.intake, name="intake"),
    path("intake/done/<int:case_id>/", intake.intake_done, name="intake_done"),
    path("intake/categories/", intake.intake_categories, name="intake_categories"),
    path("intake/place/", intake.intake_place, name="intake_place"),
    path("intake/similar/", intake.intake_similar, name="intake_similar"),
]

mobile_patterns = [
    path("", mobile.mobile, name="home"),
    path("sw.js", mobile.service_worker, name="service_worker"),
]

citizen_patterns = [
    path("", citizen.citizen_home, name="home"),
    path("appeal/", citizen.citizen_appeal, name="appeal"),
    path("appeal/done/", citizen.citizen_appeal_done, name="appeal_done"),
    path("receipt/<str:code>.pdf", citizen.citizen_receipt, name="receipt"),
    path("track/", citizen.citizen_track, name="track"),
    path("rate/", citizen.citizen_rate, name="rate"),
    path("locate/", citizen.citizen_locate, name="locate"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("", include((account_patterns, "accounts"))),
    path("", include((case_patterns, "cases"))),
    path("m/", include((mobile_patterns, "mobile"))),
    path("public/", include((citizen_patterns, "citizen"))),
    path("i18n/", include("django.conf.urls.i18n")),
]
