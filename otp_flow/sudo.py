"""Sudo mode: sensitive actions need a code entered in this session, recently.

A session let in by a trusted device entered no code (it is password-only
in strength, docs/security.md R21), so it is asked for one too, and sent back.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import django_otp
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from trust.state import METHOD_PASSWORD

from .conf import conf


def is_fresh(request: HttpRequest) -> bool:
    """Was a code entered in this session within ``OTP_FLOW_SUDO_TIMEOUT``?

    A user with no second factor has no code to give: their (password-only)
    session is as fresh as it gets. A session still owing a code never gets
    here (the gate holds it at the code page).
    """
    trust = getattr(request, "trust", None)
    if trust is None:
        return False
    if trust.method == METHOD_PASSWORD and not trust.pending:
        # SECURITY: checked against the database, not the session's word: a
        # session decided just before 2FA was turned on is no exception.
        return not django_otp.user_has_device(request.user)
    return trust.code_entered_within(conf.SUDO_TIMEOUT.total_seconds())


def ask_for_code(request: HttpRequest) -> HttpResponse:
    """To the code page, and back to this page (as a GET) after it."""
    return redirect_to_login(request.get_full_path(), reverse("otp_flow:verify"), "next")


def sudo_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Let the view run only in a session that entered a code recently."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_fresh(request):
            return ask_for_code(request)
        return view(request, *args, **kwargs)

    return wrapper
