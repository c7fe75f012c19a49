"""Settings of the ``otp_flow`` app, each with its documented default.

Every setting is an entry of ``_DEFAULTS`` below, with the ``#:`` comment
above it saying what it does: the documentation's settings reference is
generated from those comments, so a setting without one fails the docs build.

django-otp's own settings keep their meaning: ``OTP_TOTP_ISSUER`` labels the
authenticator entry, ``OTP_TOTP_THROTTLE_FACTOR`` sets the back-off (shared by
TOTP and backup codes: a failure of either counts against the TOTP device).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings

_DEFAULTS: dict[str, Any] = {
    #: A code entered this recently lets a session do sensitive things (new backup codes, a new
    #: authenticator, passkeys, the admin's credential pages).
    "OTP_FLOW_SUDO_TIMEOUT": timedelta(minutes=10),
    #: "Trust this device" starts checked on the code page (``False``: unchecked, an opt-in).
    "OTP_FLOW_TRUST_BY_DEFAULT": True,
    #: After this many consecutive failed codes (TOTP and backup codes together) nothing is
    #: compared any more until an admin resets the count (NIST SP 800-63B: at most 100).
    "OTP_FLOW_MAX_FAILURES": 100,
    #: django-otp's back-off of the backup-code device itself; ``None``: the TOTP device's
    #: (``OTP_TOTP_THROTTLE_FACTOR``).
    "OTP_FLOW_BACKUP_THROTTLE_FACTOR": None,
    #: Passkeys (django-otp-webauthn) may sign in alone, with no password.
    "OTP_FLOW_PASSKEY_PASSWORDLESS": False,
    #: More models ("app_label.ModelName") whose admin pages ``SudoAdminSite`` opens only to a
    #: session with a fresh code, beside those ``otp_flow.credential_models`` covers
    #: (credential apps, second factors, users, groups and permissions; check otp_flow.W003).
    "OTP_FLOW_ADMIN_SUDO_MODELS": (),
}


def _get(name: str) -> Any:
    return getattr(settings, name, _DEFAULTS[name])


class Conf:
    @property
    def SUDO_TIMEOUT(self) -> timedelta:
        return _get("OTP_FLOW_SUDO_TIMEOUT")

    @property
    def TRUST_BY_DEFAULT(self) -> bool:
        return bool(_get("OTP_FLOW_TRUST_BY_DEFAULT"))

    @property
    def MAX_FAILURES(self) -> int:
        return _get("OTP_FLOW_MAX_FAILURES")

    @property
    def BACKUP_THROTTLE_FACTOR(self) -> float:
        factor = _get("OTP_FLOW_BACKUP_THROTTLE_FACTOR")
        if factor is None:
            factor = getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1)
        return factor

    @property
    def PASSKEY_PASSWORDLESS(self) -> bool:
        return bool(_get("OTP_FLOW_PASSKEY_PASSWORDLESS"))

    @property
    def ADMIN_SUDO_MODELS(self) -> Any:
        # Validated by check otp_flow.E003: a list of "app_label.ModelName".
        return _get("OTP_FLOW_ADMIN_SUDO_MODELS")


conf = Conf()
