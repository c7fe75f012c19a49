"""The demo's URLs, with the two views that call ``login(request, user)``
without ``backend=``: a sign-up view as most sites write it, and Django's
``PasswordResetConfirmView(post_reset_login=True)``."""

from __future__ import annotations

from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.views.decorators.http import require_POST

from project.urls import urlpatterns as site


@require_POST
def sign_up(request: HttpRequest) -> HttpResponse:
    user = get_user_model().objects.create_user(
        request.POST["username"], request.POST["email"], request.POST["password"]
    )
    login(request, user)  # no backend=: as Django's docs and most sites write it
    return redirect("/")


urlpatterns = [
    path("plain/signup/", sign_up),
    path(
        "plain/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(post_reset_login=True, success_url="/"),
    ),
    *site,
]
