"""Checking a code against the signed-in user's devices.

Always under the device row's lock, as ``django_otp.verify_token()`` checks:
a code (or time step) is accepted once, even by racing requests, and the
throttle count cannot be raced past either. A code-page check reads each
device row once, already locked, and asks that row (django-otp's
``Device.verify_token``) rather than reading it again by its persistent id.

TOTP and backup codes share one budget per user (docs/security.md R13): every
failure, whichever kind of code, malformed input included, is charged to
the user's TOTP device's django-otp throttle, and both devices' throttles
must allow a check before anything is compared. After
``OTP_FLOW_MAX_FAILURES`` consecutive failures nothing is compared any more
until an admin resets the count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import django_otp
from django.db import transaction
from django.views.decorators.debug import sensitive_variables
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice

from trust.flows import email_codes

from . import codes
from .conf import conf
from .models import BackupCodeDevice


@dataclass(frozen=True)
class Outcome:
    device: Device | None = None  # the device that accepted the code
    locked_until: datetime | None = None  # throttled: nothing was compared
    blocked: bool = False  # too many failures: nothing is compared any more
    kind: str | None = None  # codes.TOTP or codes.BACKUP, when accepted
    absent: bool = False  # the user has neither an authenticator nor backup codes

    @property
    def ok(self) -> bool:
        return self.device is not None


def totp_device(user: Any, *, confirmed: bool = True) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("pk").first()


def backup_device(user: Any) -> BackupCodeDevice | None:
    return BackupCodeDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def has_two_factor(user: Any) -> bool:
    return django_otp.user_has_device(user)


def locked_until(device: Device) -> datetime | None:
    allowed, info = device.verify_is_allowed()
    return None if allowed else (info or {}).get("locked_until")


def _lock(device: Device) -> Device | None:
    return type(device).objects.select_for_update().filter(pk=device.pk).first()


def _refused(devices: list[Device]) -> Outcome | None:
    """Why nothing may be compared now, or ``None`` if a check is allowed."""
    for device in devices:
        if device.throttling_failure_count >= conf.MAX_FAILURES:
            return Outcome(blocked=True)
    for device in devices:
        until = locked_until(device)
        if until is not None:
            return Outcome(locked_until=until)
    return None


@sensitive_variables()
def verify(user: Any, code: codes.Code | None) -> Outcome:
    """Check ``code`` (canonical, or ``None`` if malformed) for ``user``.

    SECURITY: ``user`` is the session's, never one named by the request.
    """
    with transaction.atomic():
        # Both rows found locked, always TOTP first: racing guesses are counted
        # one after the other, and the budget is checked under the lock.
        totp = _locked(TOTPDevice, user)
        backup = _locked(BackupCodeDevice, user)
        locked: list[Device] = [device for device in (totp, backup) if device is not None]
        if not locked:
            return Outcome(absent=True)
        budget = locked[0]
        refused = _refused(locked)
        if refused is not None:
            return refused
        target = totp if code is not None and code.kind == codes.TOTP else backup
        if code is None or target is None:
            # Malformed input costs an attempt but is never compared.
            budget.throttle_increment()
            return Outcome()
        # The row is locked by this transaction, as django_otp.verify_token()
        # would lock it: the device checks the code itself.
        if not target.verify_token(code.value):
            if totp is not None and target is backup:
                # A backup code failed: its device counted it; so does the budget.
                budget.throttle_increment()
            return Outcome()
        # One budget: a success of either kind clears both counts.
        for device in locked:
            type(device).objects.filter(pk=device.pk).update(
                throttling_failure_count=0, throttling_failure_timestamp=None
            )
        return Outcome(device=target, kind=code.kind)


def _locked(model: type[Device], user: Any) -> Any:
    """``user``'s confirmed device of ``model``, read once and locked."""
    return (
        model.objects.select_for_update().filter(user=user, confirmed=True).order_by("pk").first()
    )


@sensitive_variables()
def verify_new_totp(user: Any, token: str | None, device: TOTPDevice) -> Outcome:
    """Check a code from an authenticator being enrolled (``device`` unconfirmed)."""
    until = locked_until(device)
    if until is not None:
        return Outcome(locked_until=until)
    if token is None:
        with transaction.atomic():
            locked = _lock(device)
            if locked is not None and locked_until(locked) is None:
                locked.throttle_increment()
        return Outcome()
    accepted = django_otp.verify_token(user, device.persistent_id, token)
    return Outcome(device=accepted, kind=codes.TOTP if accepted else None)


def reset_failures(user: Any) -> None:
    """Lift the throttle and the hard cap (an admin's or a recovery's decision)."""
    for model in (TOTPDevice, BackupCodeDevice):
        model.objects.filter(user=user).update(
            throttling_failure_count=0, throttling_failure_timestamp=None
        )


@sensitive_variables()
def verify_email_code(user: Any, code: codes.Code | None) -> Outcome:
    """Check a code e-mailed for a risky sign-in (``trust.flows.email_codes``).

    The same rules as an authenticator's code: the device row is locked for
    the check, a failure (malformed input included) costs an attempt under
    django-otp's throttle, ``OTP_FLOW_MAX_FAILURES`` failures stop checks,
    and an accepted code is cleared, so it is accepted once.
    """
    device = email_codes.device_of(user)
    if device is None:
        return Outcome()
    with transaction.atomic():
        locked = _lock(device)
        if locked is None or locked.confirmed:
            return Outcome()  # SECURITY: only the unconfirmed sign-in-code device
        refused = _refused([locked])
        if refused is not None:
            return refused
        if code is None or code.kind != codes.TOTP:
            locked.throttle_increment()
            return Outcome()
        accepted = django_otp.verify_token(user, locked.persistent_id, code.value)
        return Outcome(device=accepted, kind=codes.EMAIL if accepted else None)
