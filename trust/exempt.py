"""Which URLs a session that owes a code (or an enrollment) may reach.

The gate's verdict (``trust.verdict``) asks only when it matters, so a
session that owes nothing never resolves its URL here.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.urls import Resolver404, resolve
from django.utils.functional import cached_property

from .conf import conf
from .dbsc import REFRESH_URL_NAME, REGISTER_URL_NAME
from .flows.not_me import URL_NAME as NOT_ME_URL_NAME
from .http import ENROLL_URL_NAME, STEP_UP_VIEW, VERIFY_URL_NAME


class MatchedRoute:
    """The URL asked for, resolved only if the verdict asks (a session owing something)."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request

    @cached_property
    def exempt(self) -> bool:
        return exempt(self.request)

    @cached_property
    def exempt_from_enrollment(self) -> bool:
        return exempt(self.request, enroll=True)


def exempt(request: HttpRequest, *, enroll: bool = False) -> bool:
    """May a session that owes a code (or an enrollment) reach this URL?"""
    path = request.path
    exempt_paths, exempt_names = conf.EXEMPT_URLS
    prefixes = [settings.STATIC_URL, settings.MEDIA_URL, *exempt_paths]
    if any(prefix and prefix != "/" and path.startswith(prefix) for prefix in prefixes):
        return True
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    if getattr(match.func, STEP_UP_VIEW, False) and not enroll:
        return True  # another shape of the code page (trust.http.step_up_view)
    # An alert's "this wasn't me" link only takes access away: a session
    # still owing its code may use it too.
    # The browser's own DBSC calls keep a bound cookie alive (trust.dbsc):
    # they prove a key, not a session, and must work while a code is owed.
    names = {
        VERIFY_URL_NAME,
        conf.LOGOUT_URL_NAME,
        NOT_ME_URL_NAME,
        REGISTER_URL_NAME,
        REFRESH_URL_NAME,
        *exempt_names,
    }
    if enroll:
        names.add(ENROLL_URL_NAME)
    return match.view_name in names
