"""Managing a user's second factor: backup codes, turning 2FA off, a new authenticator.

Views call these; they own the devices, the trust they imply, the session
and the security log. Trust is bound to the factor: whatever removes or
replaces it revokes every trusted device (docs/security.md R27).
"""

from __future__ import annotations

import re

import django_otp
from django.db import transaction
from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key

from trust import flows
from trust.flows import events
from trust.flows.factor_changes import accounted_for

from .models import BackupCodeDevice

BACKUP_DEVICE_NAME = "Backup codes"
# The name a newly enrolled authenticator gets (shown in the admin).
TOTP_DEVICE_NAME = "Authenticator"
_HEX_KEY = re.compile(r"[0-9a-f]{40}", re.ASCII)


@sensitive_variables("fresh")
def issue_backup_codes(request: HttpRequest, *, regenerated: bool) -> list[str]:
    """A new set of backup codes for ``request.user``, voiding the old one.

    The codes are returned in clear for the page that shows them, once; only
    their hashes are kept.
    """
    user = request.user
    with transaction.atomic():
        device = BackupCodeDevice.objects.select_for_update().filter(user=user).first()
        if device is None:
            # Logged by the caller's flow (2FA turned on, codes regenerated).
            device = accounted_for(
                BackupCodeDevice(user=user, name=BACKUP_DEVICE_NAME, confirmed=True)
            )
            device.save()
        fresh = device.replace_codes()
        if regenerated:
            events.record(user, events.BACKUP_CODES_REGENERATED, request=request)
    return fresh


def disable(request: HttpRequest) -> None:
    """Turn 2FA off for ``request.user``: devices gone, trust gone, other sessions ended."""
    user = request.user
    with transaction.atomic():
        for device in list(django_otp.devices_for_user(user, confirmed=None)):
            accounted_for(device).delete()  # logged below, as 2FA turned off
        flows.revoke_all(user, reason="two_factor_disabled", request=request)
        flows.end_other_sessions(request)
        events.record(user, events.TWO_FACTOR_DISABLED, request=request)
    # The session no longer has a second factor; it stays the same session
    # (its sign-in time, and so its absolute lifetime, are kept).
    flows.second_factor_removed(request)


PENDING_KEY_SESSION_KEY = "otp_flow_new_totp_key"


def new_authenticator(request: HttpRequest, name: str = TOTP_DEVICE_NAME) -> TOTPDevice:
    """The authenticator this session is enrolling: unsaved until a code is posted.

    SECURITY: the secret lives in this session alone. A secret shown to
    another session (perhaps someone who only has the password, and opened
    this page first) is never offered here, and is thrown away once this one
    is saved: whoever confirms an authenticator confirms their own secret.
    Keeping it in the session also means a GET writes nothing.
    """
    key = request.session.get(PENDING_KEY_SESSION_KEY)
    if not (isinstance(key, str) and _HEX_KEY.fullmatch(key)):
        key = default_key()
        request.session[PENDING_KEY_SESSION_KEY] = key
    user = request.user
    saved = TOTPDevice.objects.filter(user=user, confirmed=False, key=key).first()
    return saved or TOTPDevice(user=user, name=name, confirmed=False, key=key)


def save_new_authenticator(device: TOTPDevice) -> TOTPDevice:
    """Save the session's pending authenticator before its first code is checked.

    Saved once, it keeps its throttle across attempts; every other pending
    authenticator of the user goes.
    """
    if device.pk is None:
        with transaction.atomic():
            TOTPDevice.objects.filter(user=device.user, confirmed=False).delete()
            device.save()
    return device


def forget_new_authenticator(request: HttpRequest) -> None:
    request.session.pop(PENDING_KEY_SESSION_KEY, None)


def replace_authenticator(request: HttpRequest, device: TOTPDevice) -> None:
    """``device`` gave a valid code: it replaces the old authenticator."""
    user = request.user
    with transaction.atomic():
        # Logged below, as one replacement rather than a removal and an addition.
        for old in TOTPDevice.objects.filter(user=user).exclude(pk=device.pk):
            accounted_for(old).delete()
        device.confirmed = True
        accounted_for(device).save(update_fields=["confirmed"])
        flows.revoke_all(user, reason="authenticator_replaced", request=request)
        flows.end_other_sessions(request)
        events.record(user, events.AUTHENTICATOR_REPLACED, request=request)
    forget_new_authenticator(request)
    flows.mark_verified(request, device)


@sensitive_variables("fresh")
def enroll(request: HttpRequest, device: TOTPDevice, *, trust: bool) -> list[str]:
    """``device`` gave its first valid code: 2FA is on. The first backup codes,
    in clear for the page that shows them once.

    One transaction: this session is marked verified before the commit, so
    trust's receiver (which ends the user's password-only sessions once a
    factor is confirmed) ends the others but not this one.
    """
    with transaction.atomic():
        device.confirmed = True
        # Logged below, as 2FA turned on.
        accounted_for(device).save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=request.user, confirmed=False).delete()
        forget_new_authenticator(request)
        events.record(request.user, events.TWO_FACTOR_ENABLED, request=request)
        # One transition of the session record: verified and, when asked,
        # the browser trusted; linked and saved once.
        flows.code_passed(request, device, trust_browser=trust)
        # Sessions that signed in before 2FA was on are password-only: end them.
        flows.end_other_sessions(request)
    return issue_backup_codes(request, regenerated=False)
