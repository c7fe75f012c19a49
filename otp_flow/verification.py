"""Checking a code against the signed-in user's devices.

Always through ``django_otp.verify_token()``, which locks the device row for
the check: a code (or time step) is accepted once, even by racing requests,
and the throttle count cannot be raced past either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import django_otp
from django.db import transaction
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice


@dataclass(frozen=True)
class Outcome:
    device: Device | None = None  # the device that accepted the code
    locked_until: datetime | None = None  # throttled: nothing was compared

    @property
    def ok(self) -> bool:
        return self.device is not None


def totp_device(user: Any, *, confirmed: bool = True) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("pk").first()


def _charge_malformed(device: Device) -> None:
    """Malformed input costs an attempt like a wrong code, but is never compared."""
    with transaction.atomic():
        locked = type(device).objects.select_for_update().get(pk=device.pk)
        allowed, _ = locked.verify_is_allowed()
        if allowed:
            locked.throttle_increment()


def locked_until(device: Device) -> datetime | None:
    allowed, info = device.verify_is_allowed()
    return None if allowed else (info or {}).get("locked_until")


def verify(user: Any, code: str | None, device: Device | None = None) -> Outcome:
    """Check ``code`` (canonical, or ``None`` if malformed) for ``user``.

    SECURITY: ``user`` is the session's, never one named by the request.
    """
    device = device or totp_device(user)
    if device is None:
        return Outcome()
    until = locked_until(device)
    if until is not None:
        return Outcome(locked_until=until)
    if code is None:
        _charge_malformed(device)
        return Outcome()
    return Outcome(device=django_otp.verify_token(user, device.persistent_id, code))
