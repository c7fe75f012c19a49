"""The demo site's own pages: home, sign-up, the end of a password reset."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django_otp import user_has_device

from otp_flow.sudo import sudo_required
from trust.receivers import mark_password_change

from .forms import SignupForm


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user: Any = request.user  # login_required
    return render(
        request,
        "home.html",
        {"two_factor": user_has_device(user), "alerts_unreachable": not user.email},
    )


@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("password1", "password2")
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="trust.backends.ModelBackend")
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's, logging the new password as a reset (which revokes all trust).

    SECURITY: never signs in by itself: a reset must not skip the second
    factor (docs/security.md R7).
    """

    post_reset_login = False

    def form_valid(self, form):  # type: ignore[no-untyped-def]
        mark_password_change(form.user, self.request, reset=True)
        return super().form_valid(form)


@method_decorator(sudo_required, name="dispatch")
class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's, telling the security log where the change came from.

    Changing the password is a sensitive action (docs/security.md R20): a session
    let in by a trusted device, or whose code is older than the sudo
    window, enters a code first.
    """

    def form_valid(self, form):  # type: ignore[no-untyped-def]
        mark_password_change(form.user, self.request)
        return super().form_valid(form)
