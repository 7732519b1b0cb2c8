from django.urls import path

from puan.command import views

app_name = "command"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
