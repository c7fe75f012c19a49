"""Revoking trust: one device, all of a user's, or all after a new password.

Revoking ends the sessions the trust let in before it returns (through the
session index, ``trust.flows.sessions``) and records the event.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from ..models import EventKind, SupersededToken, TrustedDevice, TrustedSession
from . import events, sessions


def revoke_one(
    device: TrustedDevice,
    *,
    reason: str,
    request: HttpRequest | None,
    end_sessions: bool = True,
    keep_session: str | None = None,
) -> bool:
    """Revoke ``device`` inside the caller's transaction; ``False`` if it was already."""
    now = timezone.now()
    revoked = TrustedDevice.objects.filter(pk=device.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_reason=reason
    )
    if not revoked:
        return False
    device.revoked_at, device.revoked_reason = now, reason
    # A revoked device's old secrets are worth nothing: its current secret
    # alone still tells a revoked device's cookie when it comes back.
    SupersededToken.objects.filter(device=device).delete()
    if end_sessions:
        sessions.end_device_sessions(device, keep=keep_session)
    events.record_for_device(
        device.user, events.DEVICE_REVOKED, device, request=request, reasons=[reason]
    )
    return True


def revoke(device: TrustedDevice, *, reason: str, request: HttpRequest | None = None) -> bool:
    """Revoke ``device`` and end the sessions it let in, before returning."""
    with transaction.atomic():
        return revoke_one(device, reason=reason, request=request)


def revoke_all(
    user: Any,
    *,
    reason: str,
    request: HttpRequest | None = None,
    except_device: int | None = None,
) -> int:
    """Revoke every live trusted device of ``user`` (but ``except_device``)."""
    keep = request.session.session_key if request is not None else None
    count = 0
    with transaction.atomic():
        devices = TrustedDevice.objects.filter(user=user, revoked_at__isnull=True)
        if except_device is not None:
            devices = devices.exclude(pk=except_device)
        for device in devices.select_for_update():
            count += revoke_one(device, reason=reason, request=request, keep_session=keep)
    return count


def end_other_sessions(request: HttpRequest) -> int:
    """End every session of ``request.user`` but this one."""
    return sessions.end_user_sessions(request.user, keep=request.session.session_key)


def password_changed(
    user: Any,
    *,
    request: HttpRequest | None = None,
    reset: bool = False,
    keep: str | None = None,
) -> None:
    """``user`` has a new password: all trust ends, every session but ``keep``.

    SECURITY: trust is bound to the credentials (docs/security.md). Called
    by the user model's post_save receiver; call it yourself after a
    ``QuerySet.update(password=...)``, which sends no signal.
    """
    kind = EventKind.PASSWORD_RESET if reset else EventKind.PASSWORD_CHANGED
    revoke_all(user, reason=str(kind))
    sessions.end_user_sessions(user, keep=keep)
    events.record(user, kind, request=request)


def end_reported_session(record: TrustedSession, *, request: HttpRequest | None = None) -> bool:
    """Its user says a session was not theirs: it ends now (once)."""
    ended = sessions.end(TrustedSession.objects.filter(pk=record.pk))
    if ended:
        events.record(
            record.user,
            events.SESSION_REPORTED,
            request=request,
            reasons=["reported_by_user"],
        )
    return bool(ended)
