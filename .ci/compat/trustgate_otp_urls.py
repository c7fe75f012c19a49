"""django-otp's test URLconf plus Trustgate's pages, as the quickstart adds them."""

from django.urls import include, path
from test_project.urls import urlpatterns as test_project_urls

urlpatterns = [
    *test_project_urls,
    path("2fa/", include("otp_flow.urls")),
    path("devices/", include("trust.urls")),
]
