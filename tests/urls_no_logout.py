"""Trustgate's pages and a sign-in, but no sign-out view the gate can find."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/sign-off/", auth_views.LogoutView.as_view(), name="sign_off"),
    path("2fa/", include("otp_flow.urls")),
    path("devices/", include("trust.urls")),
]
