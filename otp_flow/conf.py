"""Settings of the ``otp_flow`` app, each with its documented default.

Every setting is an entry of ``_DEFAULTS`` below, with the ``#:`` comment
above it saying what it does: the documentation's settings reference is
generated from those comments, so a setting without one fails the docs build.
Each property reads ``django.conf.settings`` and validates the value on
first read (``ImproperlyConfigured`` names a malformed one), and keeps it
until ``setting_changed``, as ``trust.conf`` does; ``OtpFlowConfig.ready()``
reads them all once at start-up.

django-otp's own settings keep their meaning: ``OTP_TOTP_ISSUER`` labels the
authenticator entry, ``OTP_TOTP_THROTTLE_FACTOR`` sets the back-off (shared by
TOTP and backup codes: a failure of either counts against the TOTP device).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from trust.conf import Kept

# NIST SP 800-63B §5.2.2 / 800-63B-4 §3.2.2: at most 100 consecutive failures.
NIST_MAX_FAILURES = 100

_DEFAULTS: dict[str, Any] = {
    #: A code entered this recently lets a session do sensitive things (new backup codes, a new
    #: authenticator, passkeys, the admin's credential pages).
    "OTP_FLOW_SUDO_TIMEOUT": timedelta(minutes=10),
    #: "Trust this device" starts checked on the code page (``False``: unchecked, an opt-in).
    "OTP_FLOW_TRUST_BY_DEFAULT": True,
    #: After this many consecutive failed codes (TOTP and backup codes together) nothing is
    #: compared any more until an admin resets the count (1 to 100: NIST SP 800-63B allows at
    #: most 100 and recommends fewer).
    "OTP_FLOW_MAX_FAILURES": 100,
    #: Passkeys (django-otp-webauthn) may sign in alone, with no password.
    "OTP_FLOW_PASSKEY_PASSWORDLESS": False,
    #: More models ("app_label.ModelName") whose admin pages ``SudoAdminSite`` opens only to a
    #: session with a fresh code, beside those ``otp_flow.credential_models`` covers
    #: (credential apps, second factors, users, groups and permissions; check otp_flow.W003).
    "OTP_FLOW_ADMIN_SUDO_MODELS": (),
}


def _get(name: str) -> Any:
    return getattr(settings, name, _DEFAULTS[name])


def _invalid(name: str, expected: str, value: Any) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{name} must be {expected}, not {value!r}.")


class Conf:
    """One typed property per setting; see ``_DEFAULTS`` for what each does."""

    @Kept
    def SUDO_TIMEOUT(self) -> timedelta:
        value = _get("OTP_FLOW_SUDO_TIMEOUT")
        if not isinstance(value, timedelta) or value <= timedelta(0):
            raise _invalid("OTP_FLOW_SUDO_TIMEOUT", "a positive timedelta", value)
        return value

    @Kept
    def TRUST_BY_DEFAULT(self) -> bool:
        return bool(_get("OTP_FLOW_TRUST_BY_DEFAULT"))

    @Kept
    def MAX_FAILURES(self) -> int:
        value = _get("OTP_FLOW_MAX_FAILURES")
        whole = isinstance(value, int) and not isinstance(value, bool)
        if not whole or not 1 <= value <= NIST_MAX_FAILURES:
            expected = f"a whole number from 1 to {NIST_MAX_FAILURES}"
            raise _invalid("OTP_FLOW_MAX_FAILURES", expected, value)
        return value

    @Kept
    def TOTP_THROTTLE_FACTOR(self) -> float:
        """django-otp's ``OTP_TOTP_THROTTLE_FACTOR``, read as django-otp reads it:
        the backup-code device throttles like the TOTP device."""
        return getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1)

    @Kept
    def PASSKEY_PASSWORDLESS(self) -> bool:
        return bool(_get("OTP_FLOW_PASSKEY_PASSWORDLESS"))

    @Kept
    def ADMIN_SUDO_MODELS(self) -> tuple[str, ...]:
        labels = _get("OTP_FLOW_ADMIN_SUDO_MODELS")
        # Whether each names an installed model is check otp_flow.E003's.
        if (
            isinstance(labels, str | bytes)
            or not isinstance(labels, list | tuple)
            or not all(isinstance(label, str) and label.count(".") == 1 for label in labels)
        ):
            raise _invalid("OTP_FLOW_ADMIN_SUDO_MODELS", 'a list of "app_label.ModelName"', labels)
        return tuple(labels)

    def validate(self) -> None:
        """Read every setting once: a malformed one raises ``ImproperlyConfigured``."""
        for name in dir(self):
            if name.isupper():
                getattr(self, name)


conf = Conf()
