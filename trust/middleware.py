"""The gate: the one place that decides whether a signed-in session may go on.

It loads the session's record (``trust.state.SessionState``), asks one pure
function for a verdict (``trust.verdict``), and applies it: go on, or answer
in the view's place (``trust.responses``). A session already decided costs
no query: the decision lives in the session, read once per request.

It stands in for django-otp's ``OTPMiddleware`` (``trust.otp_compat``):
``request.user.otp_device`` and ``request.user.is_verified()`` work as
django-otp documents, so ``otp_required`` and ``OTPAdminSite`` work
unchanged, and a ``django_otp.login()`` in a session that owes a code
verifies it, wherever it was called.

Sync and async capable, as django-otp's and django-htmx's middleware are:
both paths share the verdict and its application; under ASGI only the work
that needs the database (a sign-in to decide, a check that is due) goes to
a thread through ``sync_to_async``. A session already decided makes no hop.
"""

from __future__ import annotations

import enum
import functools
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.apps import apps
from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from . import dbsc, otp_compat, responses
from .browser import parsed_user_agent, raw_user_agent
from .conf import conf
from .cookie import apply_cookie
from .exempt import MatchedRoute
from .flows import admission, signed_out, trusting
from .http import wants_json
from .state import NOT_SIGNED_IN, SessionState, agent_digest
from .verdict import NOT_EXEMPT, WORK, Limits, Verdict, verdict


class _After(enum.Enum):
    """What the view's work on the session leaves for the gate to do."""

    NOTHING = enum.auto()
    SIGNED_IN = enum.auto()  # a view signed someone in: decide now
    VERIFIED = enum.auto()  # django_otp.login() verified a session that owed a code
    KEY_MOVED = enum.auto()  # the session key rotated: the index follows it


class TrustMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            # As django-htmx does: the instance is the coroutine function the
            # handler awaits; __call__ hands over to __acall__.
            markcoroutinefunction(self)
        # django-user-agents' filters and helpers read ``request.user_agent``.
        self.user_agents = apps.is_installed("django_user_agents")

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        gate = _Gate(request)
        found = gate.ask()
        if found in WORK:
            gate.state = _WORK[found](request, gate.state)
            found = gate.ask(fresh=True)
        self._install(request, gate.state)
        told = signed_out.notice(request) if _signed_out_here(request, gate.state) else None
        if found is Verdict.SIGN_OUT:
            auth.logout(request)
        response = _answer(request, gate.state, found) or self.get_response(request)
        if told is not None:
            signed_out.tell(request, response, told)
        after, state = _after_view(request, gate)
        if after is not _After.NOTHING:
            response = _AFTER[after](request, state, response)
        _write_queued(request, response)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        if _has_session(request):
            # The session through its async API: loaded once, then read from memory.
            await request.session.aget(auth.SESSION_KEY)
        gate = _Gate(request)
        found = gate.ask()
        if found in WORK:
            gate.state = await sync_to_async(_WORK[found])(request, gate.state)
            found = gate.ask(fresh=True)
        self._install(request, gate.state)
        told = None
        if _signed_out_here(request, gate.state):
            told = await sync_to_async(signed_out.notice)(request)
        if found is Verdict.SIGN_OUT:
            await sync_to_async(auth.logout)(request)
        get_response: Callable[[HttpRequest], Awaitable[HttpResponse]] = self.get_response
        response = _answer(request, gate.state, found) or await get_response(request)
        if told is not None:
            signed_out.tell(request, response, told)  # no I/O: a cookie, or the session
        if request.session.accessed:
            # Loaded already (accessed): aget() answers from memory, no hop.
            await request.session.aget(auth.SESSION_KEY)
        after, state = _after_view(request, gate)
        if after is not _After.NOTHING:
            response = await sync_to_async(_AFTER[after])(request, state, response)
        _write_queued(request, response)
        return response

    def _install(self, request: HttpRequest, state: SessionState | None) -> None:
        request.trust = state.view() if state is not None else NOT_SIGNED_IN  # type: ignore[attr-defined]
        otp_compat.install(request, state)
        if self.user_agents:
            # Trustgate's one parse of this request's user agent (the same
            # the fingerprint reads), in place of django-user-agents' own.
            request.user_agent = SimpleLazyObject(  # type: ignore[attr-defined]
                functools.partial(parsed_user_agent, request)
            )


# --- loading and asking ------------------------------------------------------------


class _Gate:
    """One request's inputs to the verdict, read from the loaded session (no I/O)."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        uid = request.session.get(auth.SESSION_KEY) if _has_session(request) else None
        self.uid = str(uid) if uid is not None else None
        self.state = SessionState.of(request) if uid is not None else None
        # What django_otp.login() had recorded when a code was owed: a new
        # value after the view is a verification made meanwhile.
        owed = self.state is not None and self.state.pending
        self.device_id_before = otp_compat.recorded_device_id(request) if owed else None
        self.route = MatchedRoute(request)

    def ask(self, *, fresh: bool = False) -> Verdict:
        if self.uid is None:
            # The verdict's first rule, taken before its inputs are gathered:
            # a request nobody is signed in to reads no setting and no clock.
            return Verdict.GO_ON
        state = self.state
        agent = agent_digest(raw_user_agent(self.request)) if state is not None else ""
        return verdict(
            state,
            uid=self.uid,
            agent=agent,
            route=self.route,
            now=time.time(),
            limits=_limits(),
            fresh=fresh,
        )


def _limits() -> Limits:
    return _limits_of(conf.PENDING_TIMEOUT, conf.SESSION_LIFETIME)


@functools.lru_cache(maxsize=4)
def _limits_of(pending_timeout: timedelta, session_lifetime: timedelta | None) -> Limits:
    # One frozen Limits per pair of settings, not one per request.
    return Limits(
        pending_timeout=pending_timeout,
        touch_interval=admission.TOUCH_INTERVAL,
        session_lifetime=session_lifetime,
    )


def _write_queued(request: HttpRequest, response: HttpResponse) -> None:
    """What the flows queued for the response: the trust cookie's update and,
    only ever beside a new trust cookie, the DBSC registration offer."""
    if apply_cookie(request, response):
        dbsc.apply_offer(request, response)


def _signed_out_here(request: HttpRequest, state: SessionState | None) -> bool:
    """A page request whose session was ended elsewhere (its cookie names no
    session): the rare request that asks why (``trust.flows.signed_out``)."""
    # The cheap test first: only a dead session cookie makes the others worth it.
    return state is None and signed_out.has_dead_session(request) and not wants_json(request)


def _has_session(request: HttpRequest) -> bool:
    # Without a session cookie there is no session to read: not touching
    # it keeps anonymous responses free of "Vary: Cookie" and of work.
    # SECURITY: unless a middleware before this one already used it (and
    # perhaps signed someone in: RemoteUserMiddleware, magic links).
    return settings.SESSION_COOKIE_NAME in request.COOKIES or request.session.accessed


# --- applying: the work a verdict asks for first, then the answer ------------------


def _begin(request: HttpRequest, state: SessionState | None) -> SessionState | None:
    """First request of a sign-in (or of a different user): decide once."""
    user = request.user
    if not user.is_authenticated:
        return None
    return admission.begin(request, user)


def _end_session(request: HttpRequest, state: SessionState | None) -> None:
    """Past the absolute lifetime: signed out; the request goes on anonymous."""
    auth.logout(request)


def _recheck(request: HttpRequest, state: SessionState | None) -> SessionState | None:
    return admission.recheck_agent(request, state) if state is not None else None


def _touch(request: HttpRequest, state: SessionState | None) -> SessionState | None:
    return admission.touch(request, state) if state is not None else None


_WORK: dict[Verdict, Callable[[HttpRequest, SessionState | None], SessionState | None]] = {
    Verdict.BEGIN: _begin,
    Verdict.END_SESSION: _end_session,
    Verdict.RECHECK: _recheck,
    Verdict.TOUCH: _touch,
}


def _answer(
    request: HttpRequest,
    state: SessionState | None,
    found: Verdict,
    next_url: str | None = None,
) -> HttpResponse | None:
    """The answer in the view's place, or ``None``: the view answers."""
    if found is Verdict.STEP_UP and state is not None:
        return responses.step_up(request, state, next_url)
    if found is Verdict.ENROLL:
        return responses.enroll(next_url or request.get_full_path())
    if found is Verdict.SIGN_OUT:
        return responses.signed_out(request)
    if found is Verdict.REFUSED:
        return responses.refused(request)
    return None


# --- after the view ---------------------------------------------------------------


def _after_view(request: HttpRequest, gate: _Gate) -> tuple[_After, SessionState | None]:
    """What the view did to the session (a sign-in, a verification, a rotated
    key), and the record as it is now. Pure once the session is loaded."""
    if not request.session.accessed:
        # Neither this gate nor the view read the session (an anonymous
        # request without a session cookie): reading it now would add
        # "Vary: Cookie" to a response that does not depend on it.
        return _After.NOTHING, None
    if not request.session.modified:
        # Nobody wrote to the session since the gate read it: no sign-in,
        # no verification and no new key (each of them writes to it).
        return _After.NOTHING, gate.state
    uid = request.session.get(auth.SESSION_KEY)
    if uid is None:
        return _After.NOTHING, None
    before = gate.state
    # The view may have rewritten the record (a code passed): as it is now.
    state = SessionState.of(request)
    if before is None or before.uid != str(uid):
        if state is not None and state.uid == str(uid) and state.verified:
            # The view signed in and verified at once (a passkey alone,
            # through trust.flows.mark_verified): nothing is left to decide.
            return _After.NOTHING, state
        return _After.SIGNED_IN, state
    if state is not None and state.pending:
        recorded = otp_compat.recorded_device_id(request)
        if recorded and recorded != gate.device_id_before:
            return _After.VERIFIED, state
    key = request.session.session_key
    if state is not None and key and key != state.session_key:
        # A code passed or a password changed: the index follows the key.
        return _After.KEY_MOVED, state
    return _After.NOTHING, state


def _signed_in_here(
    request: HttpRequest, state: SessionState | None, response: HttpResponse
) -> HttpResponse:
    """A view signed someone in during this very request: decide now.

    Whatever the login view (Django's, the admin's, allauth's, an API
    that answers with data right away), its response is the first thing
    the new session gets, so it passes the gate too: a code owed turns
    it into the code page (its own redirect target becomes ``next``).
    Deciding here also means no second request races to decide.
    """
    user = request.user
    if not user.is_authenticated:
        return response
    decided = admission.begin(request, user)
    found = verdict(
        decided,
        uid=str(user.pk),
        agent=decided.agent_digest,
        route=NOT_EXEMPT,
        now=time.time(),
        limits=_limits(),
        fresh=True,
    )
    next_url = responses.redirect_target(response)
    if found is Verdict.ENROLL:
        next_url = next_url or "/"
    replacement = _answer(request, decided, found, next_url)
    return response if replacement is None else responses.carrying(response, replacement)


def _verified_by_django_otp(
    request: HttpRequest, state: SessionState | None, response: HttpResponse
) -> HttpResponse:
    """``django_otp.login()`` in a session that owed a code: the code is given.

    django-otp's contract is that the call means the session passed a
    second factor (its own ``LoginView``, a site's own page). It counts as
    Trustgate's own code page counts a code: same events, and a new session
    key and CSRF token (``django_otp.login()`` rotates neither).
    SECURITY: only a confirmed django-otp device of the session's user counts, and
    only one that existed before the code was owed: a factor registered
    while a code is owed is not that code (django-otp-webauthn's
    registration calls ``django_otp.login()`` with the new passkey). Nor does
    any django-otp device give the code a user without 2FA owes by e-mail.
    """
    if state is None or not state.pending or state.email_code:
        return response
    device = otp_compat.device_in_session(request, request.user)
    if device is None or _added_since(device, state.pending_since):
        return response
    trusting.verified_elsewhere(request, device)
    return response


def _added_since(device: Any, since: float | None) -> bool:
    """Was the django-otp device ``device`` made at or after ``since``? (django-otp's
    ``TimestampMixin`` and django-otp-webauthn's credentials say when;
    a device that does not say is taken as added now: fail closed.)"""
    created = getattr(device, "created_at", None)
    if since is None or created is None:
        return True
    return bool(created.timestamp() >= since)


def _follow_key(
    request: HttpRequest, state: SessionState | None, response: HttpResponse
) -> HttpResponse:
    if state is not None:
        admission.follow_session_key(request, state)
    return response


_AFTER: dict[_After, Callable[[HttpRequest, SessionState | None, HttpResponse], HttpResponse]] = {
    _After.SIGNED_IN: _signed_in_here,
    _After.VERIFIED: _verified_by_django_otp,
    _After.KEY_MOVED: _follow_key,
}
