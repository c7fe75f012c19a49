"""The demo's URLs plus DRF's own password-to-token view, as the issue found it."""

from django.urls import include, path
from rest_framework.authtoken.views import obtain_auth_token

urlpatterns = [
    path("api/password-token/", obtain_auth_token),
    path("", include("project.urls")),
]
