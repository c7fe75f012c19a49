"""Managing 2FA once it is on: backup codes, turning it off, a new authenticator.

Each needs a fresh code (sudo mode); turning 2FA off takes it in its form.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from trust.http import render_page, sensitive_page

from . import lifecycle, verification
from .forms import CodeForm
from .pages import (
    check_code,
    disable_form,
    new_authenticator_attempt,
    posted,
    record_backup_code_use,
    settings_context,
    setup_page,
    show_codes,
)
from .sudo import sudo_required


@require_http_methods(["GET", "POST"])
@login_required
@sensitive_page
def backup_codes(request: HttpRequest) -> HttpResponse:
    """How many backup codes are left (GET); a new set, voiding the old (POST, sudo)."""
    if not verification.has_two_factor(request.user):
        return redirect("otp_flow:setup")
    if request.method == "POST":
        return _regenerate(request)
    return render_page(request, "otp_flow/backup_codes.html", settings_context(request))


@sudo_required
@sensitive_variables("fresh")
def _regenerate(request: HttpRequest) -> HttpResponse:
    fresh = lifecycle.issue_backup_codes(request, regenerated=True)
    return show_codes(request, fresh, enrolled=False)


@require_http_methods(["GET", "POST"])
@login_required
@sensitive_post_parameters("otp_token")
@sensitive_page
def disable(request: HttpRequest) -> HttpResponse:
    """Turn 2FA off: GET is the confirmation step (what it takes away); the
    code in its form is the fresh code sudo mode asks for."""
    if not verification.has_two_factor(request.user):
        return redirect("otp_flow:setup")
    if request.method == "GET":
        return render_page(request, "otp_flow/disable.html", {"form": disable_form()})
    form = disable_form(request.POST)
    outcome = check_code(request, form)
    if outcome.absent:  # turned off meanwhile
        return redirect("otp_flow:setup")
    if outcome.ok:
        record_backup_code_use(request, outcome)
        lifecycle.disable(request)
        return render_page(request, "otp_flow/disabled.html")
    return render_page(request, "otp_flow/disable.html", {"form": form}, status=400)


@require_http_methods(["GET", "POST"])
@login_required
@sensitive_post_parameters("otp_token")
@sensitive_page
@sudo_required
@sensitive_variables()
def replace(request: HttpRequest) -> HttpResponse:
    """Replace the authenticator: a code from the NEW one confirms it."""
    user = request.user
    if not verification.has_two_factor(user):
        return redirect("otp_flow:setup")
    form = CodeForm(posted(request))
    device, passed = new_authenticator_attempt(request, form)
    if passed:
        lifecycle.replace_authenticator(request, device)
        return redirect("otp_flow:setup")
    return setup_page(request, form, device, "otp_flow/replace.html")
