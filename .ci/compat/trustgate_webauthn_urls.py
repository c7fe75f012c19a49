"""django-otp-webauthn's sandbox URLconf plus Trustgate's pages, as the quickstart adds them."""

from django.urls import include, path
from sandbox.urls import urlpatterns as sandbox_urls

urlpatterns = [
    *sandbox_urls,
    path("2fa/", include("otp_flow.urls")),
    path("devices/", include("trust.urls")),
]
