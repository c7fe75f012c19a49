"""One-time codes e-mailed to users without 2FA whose sign-in looks risky.

django-otp's e-mail device (``django_otp.plugins.otp_email``) sends and
checks them: its token is random, expires (``OTP_EMAIL_TOKEN_VALIDITY``),
is cleared once accepted (no replay) and is throttled.

SECURITY: the device is kept **unconfirmed**, under a name of its own. A
confirmed device is a second factor to django-otp (``user_has_device``):
it would turn 2FA "on" for the user, put them behind the gate everywhere
and satisfy the admin's and sudo's rules with a code from their mailbox. An
unconfirmed one is none of that; only ``otp_flow.verification.verify_email_code``
checks it, for a session that owes an e-mailed code.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps

DEVICE_NAME = "Trustgate sign-in codes"
APP = "django_otp.plugins.otp_email"


def available() -> bool:
    return apps.is_installed(APP)


def address_of(user: Any) -> str:
    field = user.get_email_field_name()
    return str(getattr(user, field, "") or "")


def device_of(user: Any, *, create: bool = False) -> Any:
    """The user's sign-in-code device (unconfirmed), made on first use."""
    if not available():
        return None
    from django_otp.plugins.otp_email.models import EmailDevice

    device = (
        EmailDevice.objects.filter(user=user, name=DEVICE_NAME, confirmed=False)
        .order_by("pk")
        .first()
    )
    if device is None and create:
        device = EmailDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def reachable(user: Any) -> bool:
    """Can a code be e-mailed to ``user``?"""
    return available() and bool(address_of(user))


def send(user: Any) -> bool:
    """E-mail ``user`` a fresh code; ``False`` when there is nowhere to send it."""
    if not reachable(user):
        return False
    device = device_of(user, create=True)
    # Within the cooldown (OTP_EMAIL_COOLDOWN_DURATION) the code already
    # sent stays the one to enter: nothing new is sent.
    device.generate_challenge()
    return True
