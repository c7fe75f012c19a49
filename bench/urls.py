"""The page every request benchmark asks for: it shows the user and asks
whether they are verified, as a page behind ``otp_required`` would."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def page(request: HttpRequest) -> HttpResponse:
    user = request.user
    verified = getattr(user, "is_verified", lambda: False)()
    return HttpResponse(f"{user.get_username()} {verified}")


urlpatterns = [
    path("bench/", page),
    path("", include("project.urls")),
]
