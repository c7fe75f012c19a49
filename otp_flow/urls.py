from __future__ import annotations

from django.urls import path

from . import views

app_name = "otp_flow"

urlpatterns = [
    path("setup/", views.setup, name="setup"),
    path("verify/", views.verify, name="verify"),
    path("backup-codes/", views.backup_codes, name="backup_codes"),
    path("disable/", views.disable, name="disable"),
    path("replace/", views.replace, name="replace"),
]
