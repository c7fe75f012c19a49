"""Enrollment and the step-up code page. Thin: the rules live in flows."""

from __future__ import annotations

from base64 import b32encode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from trust import events, flows
from trust.http import safe_next, sensitive_page

from . import verification
from .conf import conf
from .forms import INVALID_CODE, CodeForm
from .qr import qr_svg


def _wait_message(until: timezone.datetime) -> str:
    seconds = max(1, int((until - timezone.now()).total_seconds()) + 1)
    return f"Too many attempts. Wait {seconds} seconds before trying again."


def _reject(request: HttpRequest, form: CodeForm, outcome: verification.Outcome) -> None:
    form.errors.pop("otp_token", None)
    if outcome.locked_until is not None:
        form.add_error(None, _wait_message(outcome.locked_until))
    else:
        form.add_error(None, INVALID_CODE)
    events.record(request.user, events.STEP_UP_FAILED, request=request)


@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("otp_token")
@sensitive_page
def verify(request: HttpRequest) -> HttpResponse:
    """The step-up page: a code owed after the password, or asked for again."""
    default = resolve_url(settings.LOGIN_REDIRECT_URL)
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"), default)
    if not request.user.is_authenticated:
        return redirect(resolve_url(settings.LOGIN_URL))
    device = verification.totp_device(request.user)
    if device is None:
        return redirect(next_url)

    # An empty POST (or a JSON body) is still a submission: bound, so invalid.
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        outcome = verification.verify(
            request.user, form.cleaned_data["otp_token"] if form.is_valid() else None, device
        )
        if outcome.ok and outcome.device is not None:
            return _passed(request, outcome.device, form.cleaned_data["trust_device"], next_url)
        _reject(request, form, outcome)
    return render(
        request,
        "otp_flow/verify.html",
        {"form": form, "next": next_url, "pending": request.trust.pending},
    )


def _passed(request: HttpRequest, device: object, trust: bool, next_url: str) -> HttpResponse:
    flows.mark_verified(request, device)  # type: ignore[arg-type]
    events.record(request.user, events.STEP_UP_PASSED, request=request)
    if trust:
        flows.trust_device(request, device)  # type: ignore[arg-type]
    # SECURITY: next was checked against this host when read, and the value
    # used is that checked one.
    return redirect(next_url)


@require_http_methods(["GET", "POST"])
@login_required
@sensitive_post_parameters("otp_token")
@sensitive_page
@sensitive_variables("device", "secret")
def setup(request: HttpRequest) -> HttpResponse:
    """Enroll a TOTP authenticator; 2FA is on once it gave a valid code."""
    user = request.user
    if verification.totp_device(user) is not None:
        return render(request, "otp_flow/enabled.html")
    device = verification.totp_device(user, confirmed=False)
    if device is None:
        device = verification.TOTPDevice.objects.create(
            user=user, name=conf.DEVICE_NAME, confirmed=False
        )

    # An empty POST (or a JSON body) is still a submission: bound, so invalid.
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        outcome = verification.verify(
            user, form.cleaned_data["otp_token"] if form.is_valid() else None, device
        )
        if outcome.ok:
            return _enrolled(request, device, form.cleaned_data["trust_device"])
        _reject(request, form, outcome)

    secret = b32encode(device.bin_key).decode("ascii")
    uri = device.config_url
    return render(
        request,
        "otp_flow/setup.html",
        {
            "form": form,
            "qr_svg": qr_svg(uri),
            "otpauth_uri": uri,
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        },
    )


def _enrolled(request: HttpRequest, device: verification.TOTPDevice, trust: bool) -> HttpResponse:
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    verification.TOTPDevice.objects.filter(user=request.user, confirmed=False).delete()
    flows.mark_verified(request, device)
    events.record(request.user, events.TWO_FACTOR_ENABLED, request=request)
    # Sessions that signed in before 2FA was on are password-only: end them.
    flows.end_other_sessions(request)
    if trust:
        flows.trust_device(request, device)
    return redirect(resolve_url(settings.LOGIN_REDIRECT_URL))
