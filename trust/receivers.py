"""Receivers of Django's signals, connected in ``TrustConfig.ready()``."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from . import sessions


def forget_session(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """A signed-out session needs no index entry: it is flushed right after."""
    if request is not None and hasattr(request, "session"):
        sessions.forget(request.session.session_key)
