"""Enrollment and the step-up code page (managing 2FA: ``manage_views``).

Thin: what the pages share is ``pages``; the rules live in
``verification``, ``lifecycle`` and trust's flows.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, resolve_url
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from trust import flows, reason_labels
from trust.http import render_page, safe_next, sensitive_page, wants_json

from . import answers, email_step_up, lifecycle, passkeys, sudo, verification
from .forms import CodeForm, posted_code
from .pages import (
    check_code,
    logout_url,
    new_authenticator_attempt,
    posted,
    record_backup_code_use,
    settings_context,
    setup_page,
    show_codes,
)


@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("otp_token")
@sensitive_page
@ensure_csrf_cookie  # a script's first GET here gets the token its POST needs
def verify(request: HttpRequest) -> HttpResponse:
    """The step-up page: a code owed after the password, or asked for again (sudo).

    Scripts get JSON (``trust.http.wants_json``) through the same steps.
    """
    as_json = wants_json(request)
    data = posted_code(request)
    posted_next = data.get("next") if data is not None else None
    default = resolve_url(settings.LOGIN_REDIRECT_URL)
    next_url = safe_next(request, posted_next or request.GET.get("next"), default)
    if not request.user.is_authenticated:
        if as_json:
            return JsonResponse({"error": "authentication_required"}, status=401)
        return redirect(resolve_url(settings.LOGIN_URL))
    if email_step_up.owed(request):
        return email_step_up.verify(request, next_url)
    # A posted code's check reads the devices (locked) and says whether there
    # are any: the device rows are read once.
    if request.method != "POST" and not verification.has_two_factor(request.user):
        return _factor_gone(request, next_url, as_json=as_json)
    # Trusting the browser belongs to the sign-in: a session asked again for
    # a sensitive action is not offered it.
    pending = request.trust.pending  # type: ignore[attr-defined]
    form = CodeForm(data, backup=True)
    if request.method == "POST":
        outcome = check_code(request, form)
        if outcome.absent:
            return _factor_gone(request, next_url, as_json=as_json)
        if outcome.ok and outcome.device is not None:
            flows.code_passed(
                request,
                outcome.device,
                trust_browser=pending and form.cleaned_data["trust_device"],
            )
            record_backup_code_use(request, outcome)
            # SECURITY: next was checked against this host when read, and the
            # value used is that checked one.
            return answers.verified(next_url) if as_json else redirect(next_url)
        if as_json:
            return answers.refused(outcome)
    if as_json:
        return JsonResponse({"pending": pending, "passkey": passkeys.has_passkey(request.user)})
    return render_page(
        request,
        "otp_flow/verify.html",
        {
            "form": form,
            "next": next_url,
            "pending": pending,
            "logout_url": logout_url(),
            "passkey": passkeys.has_passkey(request.user),
            "reasons": reason_labels.labels(request.trust.reasons),  # type: ignore[attr-defined]
            **_sudo_context(pending, next_url),
        },
        entrance=True,
    )


def _factor_gone(request: HttpRequest, next_url: str, *, as_json: bool) -> HttpResponse:
    """The factor went away (an admin removed it): the session owes no code
    any more; without this, gate and code page would loop."""
    flows.second_factor_removed(request)
    if as_json:
        return JsonResponse({"verified": False, "next": next_url})
    return redirect(next_url)


def _sudo_context(pending: bool, next_url: str) -> dict[str, Any]:
    """Asked again for a sensitive action: what for, and the way back."""
    if pending:
        return {}
    action, cancel_url = sudo.action_for(next_url)
    return {"sudo_action": action, "cancel_url": cancel_url}


@require_http_methods(["GET", "POST"])
@login_required
@sensitive_post_parameters("otp_token")
@sensitive_page
@sensitive_variables()
def setup(request: HttpRequest) -> HttpResponse:
    """Enroll a TOTP authenticator; 2FA is on once it gave a valid code."""
    user = request.user
    # SECURITY: any second factor (backup codes left alone included) means 2FA
    # is on: a new authenticator then goes through /2fa/replace/, in sudo mode.
    if verification.has_two_factor(user):
        return render_page(request, "otp_flow/enabled.html", settings_context(request))
    form = CodeForm(posted(request))
    device, passed = new_authenticator_attempt(request, form)
    if passed:
        fresh = lifecycle.enroll(request, device, trust=form.cleaned_data["trust_device"])
        return show_codes(request, fresh, enrolled=True)
    return setup_page(request, form, device, "otp_flow/setup.html")
