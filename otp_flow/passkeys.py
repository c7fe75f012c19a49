"""Passkeys (WebAuthn) as a second factor, on django-otp-webauthn.

django-otp-webauthn owns the credential model (a django-otp device, so
``is_verified()``, ``user_has_device()`` and the admin keep working) and the
ceremonies (its ``WebAuthnHelper``, on py_webauthn). Its own views would
sign a session in around Trustgate's gate (no session-key rotation, no trust,
no throttle, no security log), so the views are ours (``passkey_views``) and
the rules are here: the same budget as codes, the same flows after a pass.

Nothing here imports django-otp-webauthn at module level: a site without it
installed keeps TOTP alone (``available()`` is false, the views answer 404).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.contrib import auth
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext

from trust import flows
from trust.flows import events
from trust.flows.factor_changes import accounted_for

from . import verification
from .conf import conf

APP = "django_otp_webauthn"
# The ceremony's challenge, kept in the session between options and answer;
# popped (and the session saved) before the answer is checked, so it is
# good for one answer only.
REGISTER_STATE = "otp_flow_passkey_register"
ASSERT_STATE = "otp_flow_passkey_assert"
SIGN_IN_STATE = "otp_flow_passkey_sign_in"
NAME_MAX_LENGTH = 64
REASON = "passkey"


def available() -> bool:
    return apps.is_installed(APP)


def credential_model() -> Any:
    from django_otp_webauthn.utils import get_credential_model

    return get_credential_model()


def user_passkeys(user: Any) -> QuerySet[Any]:
    return credential_model().objects.filter(user=user, confirmed=True).order_by("created_at")


def has_passkey(user: Any) -> bool:
    return available() and user_passkeys(user).exists()


def is_passkey(device: Any) -> bool:
    return available() and isinstance(device, credential_model())


def _helper(request: HttpRequest) -> Any:
    return credential_model().get_webauthn_helper(request=request)


def _ceremony_errors() -> tuple[type[BaseException], ...]:
    """What a hostile or broken answer makes py_webauthn and the helper raise."""
    from django_otp_webauthn.exceptions import OTPWebAuthnApiError
    from webauthn.helpers.exceptions import WebAuthnException

    return (OTPWebAuthnApiError, WebAuthnException, ValueError, TypeError, KeyError)


def _pop_state(request: HttpRequest, key: str) -> dict[str, Any] | None:
    state = request.session.pop(key, None)
    # SECURITY: saved before the answer is checked: a challenge is spent even
    # when the check then fails or raises (no second try with it).
    request.session.save()
    return state if isinstance(state, dict) else None


def clean_name(raw: Any) -> str:
    """A passkey's name as the user typed it: one line, bounded, never empty."""
    text = raw if isinstance(raw, str) else ""
    text = "".join(ch for ch in text if ch.isprintable()).strip()[:NAME_MAX_LENGTH]
    # Unnamed: named in the language of the page that added it, as a trusted
    # device's name is.
    return text or gettext("Passkey")


# --- registering --------------------------------------------------------------


def registration_options(request: HttpRequest) -> dict[str, Any]:
    """Options for ``navigator.credentials.create()``; the challenge stays here."""
    options, state = _helper(request).register_begin(user=request.user)
    request.session[REGISTER_STATE] = state
    return options


@dataclass(frozen=True)
class Registered:
    device: Any
    first: bool  # it turned 2FA on: backup codes are due, shown once


def register(request: HttpRequest, credential: Any, name: str) -> Registered | None:
    """Check the browser's answer and keep the new passkey (``None``: refused)."""
    state = _pop_state(request, REGISTER_STATE)
    if state is None or not isinstance(credential, dict):
        return None
    user = request.user
    first = not verification.has_two_factor(user)
    try:
        with transaction.atomic():
            device = _helper(request).register_complete(user=user, state=state, data=credential)
            accounted_for(device)  # logged here, as a passkey added (before the commit)
            device.name = name
            device.save(update_fields=["name"])
            events.record(user, events.PASSKEY_ADDED, request=request, reasons=[REASON])
            if first:
                # As at TOTP enrollment: this session is verified by the new
                # factor before the commit, so trust's receiver (ending the
                # password-only sessions once a factor is on) spares it.
                flows.mark_verified(request, device, phishing_resistant=True)
                events.record(user, events.TWO_FACTOR_ENABLED, request=request, reasons=[REASON])
                flows.end_other_sessions(request)
    except IntegrityError:
        return None  # that credential is registered already
    except _ceremony_errors():
        return None
    return Registered(device, first)


def remove(request: HttpRequest, device: Any) -> None:
    """Remove ``device``: the trust it created is void, sessions it let in end.

    SECURITY: trust is bound to the factor that created it (docs/security.md
    R27). Which sessions a passkey verified is not indexed, so every other
    session of the user ends; this one (in sudo mode) goes on.
    """
    from trust.models import TrustedDevice

    user: Any = request.user
    persistent_id = device.persistent_id
    with transaction.atomic():
        accounted_for(device).delete()  # logged below, as a passkey removed
        for trusted in TrustedDevice.objects.filter(
            user=user, otp_device=persistent_id, revoked_at__isnull=True
        ):
            flows.revoke(trusted, reason="passkey_removed", request=request)
        flows.end_other_sessions(request)
        events.record(user, events.PASSKEY_REMOVED, request=request, reasons=[REASON])
    if not verification.has_two_factor(user):
        flows.second_factor_removed(request)


# --- asserting (the step-up, and passwordless sign-in) -------------------------


def assertion_options(request: HttpRequest) -> dict[str, Any]:
    """Options for ``navigator.credentials.get()`` for the session's user."""
    options, state = _helper(request).authenticate_begin(
        user=request.user, require_user_verification=False
    )
    request.session[ASSERT_STATE] = state
    return options


@dataclass(frozen=True)
class Checked:
    outcome: verification.Outcome
    charged: bool = False  # a failure that cost an attempt (logged)


def check_assertion(request: HttpRequest, credential: Any) -> Checked:
    """Check a passkey's answer for the session's user, on the codes' budget.

    SECURITY: the same budget as TOTP and backup codes (docs/security.md
    R13): refused while throttled or blocked, before anything is compared;
    a failed answer is charged like a wrong code; a pass clears the count.
    """
    user = request.user
    state = _pop_state(request, ASSERT_STATE)
    budget = [d for d in (verification.totp_device(user), verification.backup_device(user)) if d]
    with transaction.atomic():
        # Budget rows locked, TOTP first, as verification.verify() does.
        found = [verification._lock(device) for device in budget]
        locked: list[Any] = [device for device in found if device is not None]
        refused = verification._refused(locked)
        if refused is not None:
            return Checked(refused)
        device = _verify(request, user, state, credential)
        if device is None:
            if locked:
                locked[0].throttle_increment()
            return Checked(verification.Outcome(), charged=True)
        for row in locked:
            type(row).objects.filter(pk=row.pk).update(
                throttling_failure_count=0, throttling_failure_timestamp=None
            )
    return Checked(verification.Outcome(device=device, kind=REASON))


def _verify(request: HttpRequest, user: Any, state: Any, credential: Any) -> Any | None:
    if state is None or not isinstance(credential, dict):
        return None
    try:
        device = _helper(request).authenticate_complete(user=user, state=state, data=credential)
    except _ceremony_errors():
        return None
    if not device.confirmed or not device.user.is_active:
        return None
    return device


def passed(request: HttpRequest, device: Any, *, trust: bool) -> None:
    """A passkey passed the step-up: exactly what a passed code does."""
    pending = request.trust.pending  # type: ignore[attr-defined]
    events.record(request.user, events.STEP_UP_PASSED, request=request, reasons=[REASON])
    flows.code_passed(request, device, trust_browser=pending and trust, phishing_resistant=True)


def failed(request: HttpRequest) -> None:
    events.record(request.user, events.STEP_UP_FAILED, request=request, reasons=[REASON])


# --- passwordless ---------------------------------------------------------------


def sign_in_options(request: HttpRequest) -> dict[str, Any]:
    """Options for a passkey that signs in alone: user verification required."""
    options, state = _helper(request).authenticate_begin(user=None, require_user_verification=True)
    request.session[SIGN_IN_STATE] = state
    return options


def sign_in(request: HttpRequest, credential: Any) -> Any | None:
    """Sign in with a passkey alone; the session is verified by it (or ``None``).

    SECURITY: only with ``OTP_FLOW_PASSKEY_PASSWORDLESS``; the answer must
    carry user verification (PIN or biometrics: two factors in one), and the
    account's code budget must allow a check (a locked account stays locked).
    """
    state = _pop_state(request, SIGN_IN_STATE)
    if not conf.PASSKEY_PASSWORDLESS or state is None or not state.get("require_user_verification"):
        return None
    device = _verify(request, None, state, credential)
    if device is None:
        return None
    user = auth.authenticate(request, webauthn_credential=device)
    if user is None or user.pk != device.user_id:
        return None
    budget = [d for d in (verification.totp_device(user), verification.backup_device(user)) if d]
    if verification._refused(budget) is not None:
        return None
    auth.login(request, user)
    flows.mark_verified(request, device, phishing_resistant=True, passwordless=True)
    events.record(user, events.PASSKEY_SIGN_IN, request=request, reasons=[REASON])
    return device
