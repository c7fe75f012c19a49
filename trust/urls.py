from __future__ import annotations

from django.urls import path

from . import views

app_name = "trust"

urlpatterns = [
    path("", views.device_list, name="devices"),
    path("<int:pk>/revoke/", views.revoke, name="revoke"),
    path("revoke-others/", views.revoke_others, name="revoke_others"),
    path("not-me/<str:token>/", views.not_me_link, name="not_me"),
    # Device Bound Session Credentials (trust.dbsc): the browser's own calls.
    path("dbsc/register/", views.dbsc_register, name="dbsc_register"),
    path("dbsc/refresh/", views.dbsc_refresh, name="dbsc_refresh"),
]
