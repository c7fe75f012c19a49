"""Enrollment and the step-up code page (managing 2FA: ``manage_views``).

Thin: the rules live in ``verification``, ``lifecycle`` and trust's flows.
"""

from __future__ import annotations

from base64 import b32encode
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from trust import flows, reason_labels
from trust.conf import conf as trust_conf
from trust.flows import events
from trust.flows.factor_changes import accounted_for
from trust.http import safe_next, sensitive_page

from . import codes, email_step_up, lifecycle, passkeys, verification
from .conf import conf
from .forms import INVALID_CODE, CodeForm
from .qr import qr_svg

BLOCKED = _(
    "Too many wrong codes. Code entry is locked for this account: "
    "contact the site's administrators."
)


def _wait_message(until: datetime) -> str:
    seconds = max(1, int((until - timezone.now()).total_seconds()) + 1)
    return ngettext(
        "Too many attempts. Wait %(seconds)d second before trying again.",
        "Too many attempts. Wait %(seconds)d seconds before trying again.",
        seconds,
    ) % {"seconds": seconds}


def reject_code(request: HttpRequest, form: CodeForm, outcome: verification.Outcome) -> None:
    form.errors.pop("otp_token", None)
    if form.is_bound:
        # SECURITY: a refused code (perhaps a right one, refused while
        # throttled) is never written back into the page.
        data = form.data.copy()  # type: ignore[attr-defined]  # a QueryDict
        data.pop("otp_token", None)
        form.data = data
    if outcome.blocked:
        form.add_error(None, BLOCKED)
    elif outcome.locked_until is not None:
        form.add_error(None, _wait_message(outcome.locked_until))
    else:
        form.add_error(None, INVALID_CODE)
    if outcome.locked_until is None and not outcome.blocked:
        # Only attempts that were checked (or charged) are logged: those the
        # throttle turned away cost nothing, and logging each would let
        # someone holding the password flood the user's security log.
        events.record(request.user, events.STEP_UP_FAILED, request=request)


def posted(request: HttpRequest) -> Any:
    # An empty POST is still a submission (a missing code), not a blank form.
    return request.POST if request.method == "POST" else None


def check_code(request: HttpRequest, form: CodeForm) -> verification.Outcome:
    """Check the form's code (TOTP or backup) against the session's user."""
    outcome = verification.verify(request.user, form.code)
    if outcome.ok:
        events.record(request.user, events.STEP_UP_PASSED, request=request)
    else:
        reject_code(request, form, outcome)
    return outcome


def record_backup_code_use(request: HttpRequest, outcome: verification.Outcome) -> None:
    """Log (and alert) a backup code's use, once the session it opened is final:
    the alert's "this wasn't me" link ends that session."""
    if outcome.ok and outcome.kind == codes.BACKUP:
        events.record(request.user, events.BACKUP_CODE_USED, request=request)


@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("otp_token")
@sensitive_page
def verify(request: HttpRequest) -> HttpResponse:
    """The step-up page: a code owed after the password, or asked for again (sudo)."""
    default = resolve_url(settings.LOGIN_REDIRECT_URL)
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"), default)
    if not request.user.is_authenticated:
        return redirect(resolve_url(settings.LOGIN_URL))
    if email_step_up.owed(request):
        return email_step_up.verify(request, next_url)
    if not verification.has_two_factor(request.user):
        # The factor went away (an admin removed it): the session owes no
        # code any more; without this, gate and code page would loop.
        flows.second_factor_removed(request)
        return redirect(next_url)
    # Trusting the browser belongs to the sign-in: a session asked again for
    # a sensitive action is not offered it.
    pending = request.trust.pending  # type: ignore[attr-defined]
    form = CodeForm(posted(request), backup=True)
    if request.method == "POST":
        outcome = check_code(request, form)
        if outcome.ok and outcome.device is not None:
            flows.mark_verified(request, outcome.device)
            if pending and form.cleaned_data["trust_device"]:
                flows.trust_device(request, outcome.device)
            record_backup_code_use(request, outcome)
            # SECURITY: next was checked against this host when read, and the
            # value used is that checked one.
            return redirect(next_url)
    return render(
        request,
        "otp_flow/verify.html",
        {
            "form": form,
            "next": next_url,
            "pending": pending,
            "logout_url": _logout_url(),
            "passkey": passkeys.has_passkey(request.user),
            "reasons": reason_labels.labels(request.trust.reasons),  # type: ignore[attr-defined]
        },
    )


def _logout_url() -> str | None:
    """The site's sign-out view, as trust's gate knows it (TRUST_LOGOUT_URL_NAME)."""
    try:
        return reverse(trust_conf.LOGOUT_URL_NAME)
    except NoReverseMatch:
        return None


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
        return render(request, "otp_flow/enabled.html", settings_context(request))
    form = CodeForm(posted(request))
    device, passed = new_authenticator_attempt(request, form)
    if passed:
        return _enrolled(request, device, form.cleaned_data["trust_device"])
    return setup_page(request, form, device, "otp_flow/setup.html")


@sensitive_variables()
def new_authenticator_attempt(
    request: HttpRequest, form: CodeForm
) -> tuple[verification.TOTPDevice, bool]:
    """The session's pending authenticator, and whether a posted code confirmed it."""
    device = lifecycle.new_authenticator(request, conf.DEVICE_NAME)
    if request.method != "POST":
        return device, False
    lifecycle.save_new_authenticator(device)
    outcome = verification.verify_new_totp(request.user, totp_or_none(form), device)
    if not outcome.ok:
        reject_code(request, form, outcome)
    return device, outcome.ok


def totp_or_none(form: CodeForm) -> str | None:
    code = form.code
    return code.value if code is not None else None


@sensitive_variables()
def setup_page(request: HttpRequest, form: CodeForm, device: Any, template: str) -> HttpResponse:
    secret = b32encode(device.bin_key).decode("ascii")
    uri = device.config_url
    return render(
        request,
        template,
        {
            "form": form,
            "qr_svg": qr_svg(uri),
            "otpauth_uri": uri,
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "passkeys_available": passkeys.available(),
        },
    )


@sensitive_variables("fresh")
def _enrolled(request: HttpRequest, device: verification.TOTPDevice, trust: bool) -> HttpResponse:
    # One transaction: this session is marked verified before the commit, so
    # trust's receiver (which ends the user's password-only sessions once a
    # factor is confirmed) ends the others but not this one.
    with transaction.atomic():
        device.confirmed = True
        # Logged below, as 2FA turned on.
        accounted_for(device).save(update_fields=["confirmed"])
        verification.TOTPDevice.objects.filter(user=request.user, confirmed=False).delete()
        lifecycle.forget_new_authenticator(request)
        flows.mark_verified(request, device)
        events.record(request.user, events.TWO_FACTOR_ENABLED, request=request)
        # Sessions that signed in before 2FA was on are password-only: end them.
        flows.end_other_sessions(request)
    if trust:
        flows.trust_device(request, device)
    fresh = lifecycle.issue_backup_codes(request, regenerated=False)
    return show_codes(request, fresh, enrolled=True)


@sensitive_variables("fresh", "shown", "codes_text")
def show_codes(request: HttpRequest, fresh: list[str], *, enrolled: bool) -> HttpResponse:
    """The one page that ever shows these codes: the response to the POST that made them."""
    shown = [codes.format_backup_code(code) for code in fresh]
    return render(
        request,
        "otp_flow/backup_codes_new.html",
        {
            "codes": shown,
            "codes_text": "\n".join(shown) + "\n",
            "enrolled": enrolled,
            "continue_url": resolve_url(settings.LOGIN_REDIRECT_URL),
        },
    )


def settings_context(request: HttpRequest) -> dict[str, Any]:
    device = verification.backup_device(request.user)
    return {
        "backup_codes_left": device.remaining if device is not None else 0,
        "disable_form": CodeForm(backup=True),
        "passkeys_available": passkeys.available(),
    }
