"""Ending sessions from anywhere: the link from users and devices to sessions.

Django has no index from a user to their sessions, so Trustgate keeps one
(``TrustedSession``), written when a session is first seen signed in and
when its key rotates. Ending a session deletes it from the session store, so
its next request arrives signed out, whatever the session backend (except
signed cookies, which no server can end: a system check warns).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import TrustedDevice, TrustedSession


def _session_store() -> Any:
    return import_module(settings.SESSION_ENGINE).SessionStore


def link(
    request: HttpRequest,
    user: Any,
    device: TrustedDevice | None,
    old_key: str,
    *,
    password_only: bool = False,
    otp_device: str = "",
) -> str:
    """Record the current session as ``user``'s (and ``device``'s); return its key.

    ``password_only``: the session was decided while the user had no second
    factor, so turning one on ends it (``end_password_only_sessions``).
    ``otp_device``: persistent id of the django-otp device that verified it
    (a code here, or the trust that code created): removing it ends the session.
    """
    key = request.session.session_key or ""
    if not key:
        return ""
    fields = {
        "user": user,
        "device": device,
        "password_only": password_only,
        "otp_device": otp_device,
    }
    if old_key and old_key != key:
        # Moved, not replaced: the row keeps its id, which alert links name.
        TrustedSession.objects.filter(session_key=key).delete()
        moved = TrustedSession.objects.filter(session_key=old_key).update(session_key=key, **fields)
        if moved:
            return key
    TrustedSession.objects.update_or_create(session_key=key, defaults=fields)
    return key


def forget(session_key: str | None) -> None:
    if session_key:
        TrustedSession.objects.filter(session_key=session_key).delete()


def end(records: QuerySet[TrustedSession], *, keep: str | None = None) -> int:
    """Delete the sessions behind ``records`` (but ``keep``) from the store."""
    store = _session_store()
    ended = 0
    for record in list(records.exclude(session_key=keep or "")):
        store(session_key=record.session_key).delete()
        record.delete()
        ended += 1
    return ended


def end_device_sessions(device: TrustedDevice, *, keep: str | None = None) -> int:
    return end(TrustedSession.objects.filter(device=device), keep=keep)


def end_user_sessions(user: Any, *, keep: str | None = None) -> int:
    return end(TrustedSession.objects.filter(user=user), keep=keep)


def end_password_only_sessions(user: Any) -> int:
    """A second factor was just turned on: sessions that never owed one end."""
    return end(TrustedSession.objects.filter(user=user, password_only=True))
