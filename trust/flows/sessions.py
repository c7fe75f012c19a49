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

from ..models import TrustedDevice, TrustedSession
from ..state import SessionState


def _session_store() -> Any:
    return import_module(settings.SESSION_ENGINE).SessionStore


def link(
    request: HttpRequest, user: Any, state: SessionState, *, old_key: str | None = None
) -> None:
    """Index the current session as ``user``'s, as ``state`` decided it.

    Sets ``state.session_key``. ``old_key``: the key the session had before a
    rotation, if not ``state.session_key`` (the row moves, keeping its id,
    which alert links name). The index says which trusted device let the
    session in, which django-otp device verified it (removing either ends
    it), and whether it was decided with no second factor (turning one on
    ends it: ``end_password_only_sessions``).
    """
    key = request.session.session_key or ""
    previous = state.session_key if old_key is None else old_key
    state.session_key = key
    if not key:
        return
    fields = {
        "user": user,
        "device_id": state.trusted_device,
        "password_only": state.password_only,
        "otp_device": state.otp_device,
    }
    if previous and previous != key:
        TrustedSession.objects.filter(session_key=key).delete()
        if TrustedSession.objects.filter(session_key=previous).update(session_key=key, **fields):
            return
    TrustedSession.objects.update_or_create(session_key=key, defaults=fields)


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
