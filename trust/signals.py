"""Signals sent by Trustgate, each after the transaction that caused it commits.

Every signal is sent with ``sender`` the user's class and these arguments:

- ``user``: the user the event is about;
- ``event``: the ``trust.models.SecurityEvent`` row that records it;
- ``request``: the request that caused it, or ``None`` (admin actions, jobs).

``security_event`` is sent for every event kind; the others only for theirs.
"""

from __future__ import annotations

from django.dispatch import Signal

__all__ = [
    "device_revoked",
    "device_trusted",
    "security_event",
    "step_up_failed",
    "step_up_passed",
    "suspicious_cookie",
]

security_event = Signal()
device_trusted = Signal()
device_revoked = Signal()
step_up_passed = Signal()
step_up_failed = Signal()
suspicious_cookie = Signal()
