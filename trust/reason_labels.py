"""What a person reads for a machine-readable reason ("new_device").

The reasons themselves stay codes (security log, JSON 401, signals); pages and
alerts show these labels, in the active language. A reason with no label (a
site's own) is shown as its code.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext_lazy as _

LABELS = {
    "new_device": _("new device"),
    "fingerprint_mismatch": _("the browser does not match the trusted device"),
    "new_network": _("new network"),
    "expired": _("trust expired"),
    "idle": _("unused too long"),
    "revoked_token": _("revoked device"),
    "stale_token": _("an old sign-in cookie came back"),
    "agent_changed": _("browser changed"),
    "unknown_device": _("unknown device"),
    "unbound": _("the browser did not prove its key"),
    "authenticator_removed": _("authenticator removed"),
    "account_deactivated": _("account deactivated"),
    "replaced": _("replaced by a new trust"),
    "evicted": _("too many trusted devices"),
    "revoked_by_user": _("revoked by you"),
    "revoked_by_admin": _("revoked by an administrator"),
    "reported_by_user": _("reported by you"),
    "two_factor_disabled": _("two-factor authentication turned off"),
    "authenticator_replaced": _("authenticator replaced"),
    "password_changed": _("password changed"),
    "password_reset": _("password reset"),
    "password_failures": _("many wrong passwords"),
    "passkey": _("passkey"),
    # The risk model (trust.rules.risk.decision).
    "new_country": _("sign-in from a new country"),
    "new_asn": _("sign-in from a new internet provider"),
    "new_block": _("sign-in from a new range of addresses"),
    "new_device_country": _("sign-in from a country this device was never used in"),
    "new_device_network": _("sign-in from an internet provider this device was never used on"),
    "impossible_travel": _("too far from your last sign-in for the time between them"),
    "risk_score": _("unusual for your account"),
    "blocked_address": _("blocked address"),
    "signal_error": _("a check could not be made"),
    "passkey_removed": _("passkey removed"),
    # Which kind of second factor was added or removed (its model's label).
    "otp_totp.totpdevice": _("authenticator app"),
    "otp_flow.backupcodedevice": _("backup codes"),
    "django_otp_webauthn.webauthncredential": _("passkey"),
    "otp_static.staticdevice": _("static codes"),
    "otp_hotp.hotpdevice": _("hardware token"),
    "otp_email.emaildevice": _("codes by e-mail"),
}


def labels(reasons: Iterable[object]) -> list[str]:
    """Each reason's label, or the reason itself when it has none."""
    return [str(LABELS.get(str(reason), reason)) for reason in reasons]
