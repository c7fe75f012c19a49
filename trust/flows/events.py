"""The security log: record an event, then tell whoever listens.

Every event is a ``SecurityEvent`` row and, once the transaction commits,
the ``security_event`` signal (plus the kind's own signal, if it has one).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.dispatch import Signal
from django.http import HttpRequest

from .. import signals
from ..client_ip import client_ip
from ..models import EventKind, SecurityEvent, TrustedDevice
from ..rules.fingerprint import MAX_USER_AGENT_LENGTH, clean_user_agent, parse_agent

DEVICE_TRUSTED = EventKind.DEVICE_TRUSTED
DEVICE_REVOKED = EventKind.DEVICE_REVOKED
SIGNED_IN_TRUSTED = EventKind.SIGNED_IN_TRUSTED
STEP_UP_PASSED = EventKind.STEP_UP_PASSED
STEP_UP_FAILED = EventKind.STEP_UP_FAILED
SUSPICIOUS_COOKIE = EventKind.SUSPICIOUS_COOKIE
TWO_FACTOR_ENABLED = EventKind.TWO_FACTOR_ENABLED
TWO_FACTOR_DISABLED = EventKind.TWO_FACTOR_DISABLED
AUTHENTICATOR_REPLACED = EventKind.AUTHENTICATOR_REPLACED
SECOND_FACTOR_ADDED = EventKind.SECOND_FACTOR_ADDED
SECOND_FACTOR_REMOVED = EventKind.SECOND_FACTOR_REMOVED
BACKUP_CODE_USED = EventKind.BACKUP_CODE_USED
BACKUP_CODES_REGENERATED = EventKind.BACKUP_CODES_REGENERATED
PASSWORD_CHANGED = EventKind.PASSWORD_CHANGED
PASSWORD_RESET = EventKind.PASSWORD_RESET
SESSION_REPORTED = EventKind.SESSION_REPORTED
PASSKEY_ADDED = EventKind.PASSKEY_ADDED
PASSKEY_REMOVED = EventKind.PASSKEY_REMOVED
PASSKEY_SIGN_IN = EventKind.PASSKEY_SIGN_IN
PASSWORD_FAILURES = EventKind.PASSWORD_FAILURES

_KIND_SIGNALS: dict[str, Signal] = {
    DEVICE_TRUSTED: signals.device_trusted,
    DEVICE_REVOKED: signals.device_revoked,
    STEP_UP_PASSED: signals.step_up_passed,
    STEP_UP_FAILED: signals.step_up_failed,
    SUSPICIOUS_COOKIE: signals.suspicious_cookie,
}


def record(
    user: Any,
    kind: str,
    *,
    request: HttpRequest | None = None,
    ip: str | None = None,
    device_name: str = "",
    reasons: Iterable[str] = (),
    device: TrustedDevice | None = None,
) -> SecurityEvent:
    """Write ``kind`` to ``user``'s security log and signal it after commit.

    ``device``: the trusted device the event is about, if any.
    """
    if ip is None and request is not None:
        ip = client_ip(request)
    if device is not None and not device_name:
        device_name = device.name
    if not device_name and request is not None:
        # The browser the event came from, named as the devices page names it.
        raw = clean_user_agent(request.META.get("HTTP_USER_AGENT"), MAX_USER_AGENT_LENGTH)
        device_name = parse_agent(raw).name
    event = SecurityEvent.objects.create(
        user=user,
        kind=kind,
        ip=ip or None,
        device_name=device_name[:140],
        reasons=list(reasons),
        device=device,
    )

    def send() -> None:
        sender = type(user)
        signals.security_event.send(sender=sender, user=user, event=event, request=request)
        kind_signal = _KIND_SIGNALS.get(kind)
        if kind_signal is not None:
            kind_signal.send(sender=sender, user=user, event=event, request=request)

    transaction.on_commit(send)
    return event


def record_for_device(
    user: Any,
    kind: str,
    device: TrustedDevice,
    *,
    request: HttpRequest | None = None,
    reasons: Iterable[str] = (),
) -> SecurityEvent:
    """``record()`` about a trusted device: named after it, and linked to it."""
    return record(
        user, kind, request=request, device_name=device.name, reasons=reasons, device=device
    )
