"""Sudo mode: sensitive actions need a code entered in this session, recently.

A session let in by a trusted device entered no code (it is password-only
in strength, docs/security.md R21), so it is asked for one too, and sent back.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

import django_otp
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.urls import Resolver404, resolve, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from trust.state import Standing

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
    if trust.method == Standing.PASSWORD and not trust.pending:
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


# What the code page says a fresh code is for, by the URL name of the page
# that asked for it ("To <action>, enter..."), and where "Cancel" goes: the
# page the action lives on, never ``next`` (it would ask again).
ACTIONS: dict[str, tuple[Promise, str]] = {
    "otp_flow:backup_codes": (_("make new backup codes"), "otp_flow:setup"),
    "otp_flow:replace": (_("replace your authenticator app"), "otp_flow:setup"),
    "otp_flow:passkeys": (_("manage your passkeys"), "otp_flow:setup"),
    "otp_flow:passkey_add": (_("add a passkey"), "otp_flow:setup"),
    "otp_flow:passkey_remove": (_("remove a passkey"), "otp_flow:setup"),
    "password_change": (_("change your password"), ""),
    "account_change_password": (_("change your password"), ""),
}
ADMIN_ACTION = _("make changes in the administration")


def action_for(next_url: str) -> tuple[str | None, str]:
    """(what the fresh code is for, or ``None``; the URL "Cancel" goes to).

    ``next_url`` is already checked to be this site's (``safe_next``); only
    its path is resolved, against this site's own URL names, so nothing the
    request says is shown back but a label of ours.
    """
    home = resolve_url(settings.LOGIN_REDIRECT_URL)
    try:
        match = resolve(urlsplit(next_url).path)
    except Resolver404:
        return None, home
    if match.view_name in ACTIONS:
        label, cancel = ACTIONS[match.view_name]
        return str(label), reverse(cancel) if cancel else home
    if match.app_name == "admin":
        return str(ADMIN_ACTION), reverse(f"{match.namespace}:index")
    return None, home
