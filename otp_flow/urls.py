from __future__ import annotations

from django.urls import path

from . import manage_views, views

app_name = "otp_flow"

urlpatterns = [
    path("setup/", views.setup, name="setup"),
    path("verify/", views.verify, name="verify"),
    path("backup-codes/", manage_views.backup_codes, name="backup_codes"),
    path("disable/", manage_views.disable, name="disable"),
    path("replace/", manage_views.replace, name="replace"),
]
