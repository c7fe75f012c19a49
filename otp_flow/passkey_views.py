"""The passkey pages and endpoints: thin, the rules are in ``passkeys``.

Each ceremony is two requests: options (JSON, for the browser's WebAuthn
call) and the answer, posted as the form's ``credential`` field (a page
answers, as to a code) or as a JSON body (JSON answers, for scripts and
single-page apps: the README's "JSON, for scripts and single-page apps").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, resolve_url
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from trust.http import render_page, safe_next, sensitive_page, step_up_view, wants_json

from . import answers, lifecycle, passkeys, sudo, verification
from .forms import CodeForm
from .pages import BLOCKED, logout_url, show_codes, wait_message

MAX_BODY = 64 * 1024  # a WebAuthn answer is a few KB; anything larger is refused


def passkeys_enabled(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """404 where django-otp-webauthn is not installed."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not passkeys.available():
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _answer(request: HttpRequest) -> tuple[Any, dict[str, Any]]:
    """The browser's answer (``credential``) and the other fields posted with it."""
    if request.content_type == "application/json":
        if len(request.body) > MAX_BODY:
            return None, {}
        try:
            body = json.loads(request.body)
        except ValueError:
            return None, {}
        if not isinstance(body, dict):
            return None, {}
        return body.get("credential"), body
    raw = request.POST.get("credential", "")
    fields: dict[str, Any] = {
        key: request.POST.get(key) for key in ("trust_device", "next", "name")
    }
    fields["trust_device"] = fields["trust_device"] in {"on", "true", "1"}
    if not raw or len(raw) > MAX_BODY:
        return None, fields
    try:
        return json.loads(raw), fields
    except ValueError:
        return None, fields


def _options(request: HttpRequest, make: Callable[[HttpRequest], dict[str, Any]]) -> HttpResponse:
    response = JsonResponse(make(request))
    response["Cache-Control"] = "no-store"
    return response


# --- the step-up -------------------------------------------------------------


@require_POST
@passkeys_enabled
@step_up_view
@login_required
def verify_options(request: HttpRequest) -> HttpResponse:
    if not passkeys.has_passkey(request.user):
        return JsonResponse({"error": "no_passkey"}, status=400)
    return _options(request, passkeys.assertion_options)


@require_POST
@passkeys_enabled
@step_up_view
@login_required
@sensitive_page
def verify(request: HttpRequest) -> HttpResponse:
    """The code page's passkey: passing it counts exactly as a code."""
    credential, fields = _answer(request)
    default = resolve_url(settings.LOGIN_REDIRECT_URL)
    next_url = safe_next(request, fields.get("next") or request.GET.get("next"), default)
    checked = passkeys.check_assertion(request, credential)
    outcome = checked.outcome
    if outcome.ok:
        passkeys.passed(request, outcome.device, trust=fields.get("trust_device") is True)
        if wants_json(request):
            return answers.verified(next_url)
        return redirect(next_url)
    if checked.charged:
        passkeys.failed(request)
    if wants_json(request):
        return answers.refused(outcome, error="invalid_passkey")
    return _verify_page(request, outcome, next_url)


def _verify_page(
    request: HttpRequest, outcome: verification.Outcome, next_url: str
) -> HttpResponse:
    # A bound, empty code form: only the passkey's error shows, not "required".
    form = CodeForm({}, backup=True)
    form.is_valid()
    form.errors.clear()
    if outcome.blocked:
        form.add_error(None, BLOCKED)
    elif outcome.locked_until is not None:
        form.add_error(None, wait_message(outcome.locked_until))
    else:
        form.add_error(None, _("That passkey did not work. Try again, or enter a code."))
    context = {
        "form": form,
        "next": next_url,
        "pending": request.trust.pending,  # type: ignore[attr-defined]
        "logout_url": logout_url(),
        "passkey": True,
    }
    return render_page(request, "otp_flow/verify.html", context, status=400, entrance=True)


# --- managing ------------------------------------------------------------------


@require_GET
@passkeys_enabled
@login_required
@sensitive_page
@sudo.sudo_required
def manage(request: HttpRequest) -> HttpResponse:
    """The user's passkeys: name, added, last used; add one, remove one."""
    return render_page(
        request,
        "otp_flow/passkeys.html",
        {"passkeys": passkeys.user_passkeys(request.user), "name_max": passkeys.NAME_MAX_LENGTH},
    )


def _sudo_json(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Sudo mode for an endpoint scripts call: a JSON 403 instead of a redirect."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not sudo.is_fresh(request):
            return _sudo_refused()
        return view(request, *args, **kwargs)

    return wrapper


def _sudo_refused() -> HttpResponse:
    return JsonResponse(
        {"error": "sudo_required", "verify_url": reverse("otp_flow:verify")}, status=403
    )


@require_POST
@passkeys_enabled
@login_required
@_sudo_json
def register_options(request: HttpRequest) -> HttpResponse:
    return _options(request, passkeys.registration_options)


@require_POST
@passkeys_enabled
@login_required
@sensitive_page
@never_cache
def register(request: HttpRequest) -> HttpResponse:
    """Keep a new passkey. The first second factor turns 2FA on: backup codes, once."""
    if not sudo.is_fresh(request):
        return _sudo_refused() if wants_json(request) else sudo.ask_for_code(request)
    credential, fields = _answer(request)
    registered = passkeys.register(request, credential, passkeys.clean_name(fields.get("name")))
    if registered is None:
        if wants_json(request):
            return JsonResponse({"error": "invalid_passkey"}, status=400)
        return render_page(
            request,
            "otp_flow/passkeys.html",
            {
                "passkeys": passkeys.user_passkeys(request.user),
                "name_max": passkeys.NAME_MAX_LENGTH,
                "error": _("The passkey could not be added. Try again."),
            },
            status=400,
        )
    fresh = lifecycle.issue_backup_codes(request, regenerated=False) if registered.first else []
    if wants_json(request):
        body: dict[str, Any] = {"id": registered.device.pk, "name": registered.device.name}
        if fresh:
            body["backup_codes"] = fresh
        return JsonResponse(body)
    if fresh:
        return show_codes(request, fresh, enrolled=True)
    return redirect("otp_flow:passkeys")


@require_POST
@passkeys_enabled
@login_required
@sudo.sudo_required
def remove(request: HttpRequest, pk: int) -> HttpResponse:
    # SECURITY: looked up among the session user's own passkeys: another
    # user's id is a 404, never a removal.
    device = get_object_or_404(passkeys.credential_model(), pk=pk, user=request.user)
    passkeys.remove(request, device)
    if wants_json(request):
        return JsonResponse({"removed": [pk]})
    if verification.has_two_factor(request.user):
        return redirect("otp_flow:passkeys")
    return redirect("otp_flow:setup")


# --- passwordless ----------------------------------------------------------------


def _passwordless(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        from .conf import conf

        if not conf.PASSKEY_PASSWORDLESS:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


@require_POST
@passkeys_enabled
@_passwordless
def sign_in_options(request: HttpRequest) -> HttpResponse:
    return _options(request, passkeys.sign_in_options)


@require_POST
@passkeys_enabled
@_passwordless
@sensitive_page
def sign_in(request: HttpRequest) -> HttpResponse:
    """Sign in with a passkey alone (``OTP_FLOW_PASSKEY_PASSWORDLESS``)."""
    credential, fields = _answer(request)
    default = resolve_url(settings.LOGIN_REDIRECT_URL)
    next_url = safe_next(request, fields.get("next") or request.GET.get("next"), default)
    device = passkeys.sign_in(request, credential)
    if device is None:
        # Same answer whatever the cause: unknown passkey, wrong signature,
        # disabled account, locked account.
        if wants_json(request):
            return JsonResponse({"error": "invalid_passkey"}, status=400)
        return redirect(f"{resolve_url(settings.LOGIN_URL)}?passkey=failed")
    if wants_json(request):
        return JsonResponse({"verified": True, "next": next_url})
    return redirect(next_url)
