from __future__ import annotations

from django.urls import path

from . import views

app_name = "otp_flow"

urlpatterns = [
    path("setup/", views.setup, name="setup"),
    path("verify/", views.verify, name="verify"),
]
