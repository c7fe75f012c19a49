"""The gate: the one place that decides whether a signed-in session may go on.

It stands in for django-otp's ``OTPMiddleware``: ``request.user.otp_device``
and ``request.user.is_verified()`` work as django-otp documents, so
``otp_required`` and ``OTPAdminSite`` work unchanged. Unlike it, a session
already decided costs no query: the decision lives in the session
(``trust.state.SessionState``, read once per request) and the OTP device is
loaded only if something asks.

Sync and async capable, as django-otp's and django-htmx's middleware are:
under ASGI the decision runs on the event loop, and only the work that
needs the database (a sign-in to decide, a check that is due) goes to a
thread through ``sync_to_async``. A session already decided makes no hop.
"""

from __future__ import annotations

import enum
import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.apps import apps
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import resolve_url
from django.urls import Resolver404, resolve, reverse
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.functional import LazyObject, SimpleLazyObject, empty
from django_otp.models import Device

from .browser import parsed_user_agent, raw_user_agent
from .conf import conf
from .cookie import apply_cookie
from .flows import admission, signed_out
from .flows.not_me import URL_NAME as NOT_ME_URL_NAME
from .http import STEP_UP_VIEW, wants_json
from .state import NOT_SIGNED_IN, SessionState, agent_digest


class _After(enum.Enum):
    """What the view's work on the session leaves for the gate to do."""

    NOTHING = enum.auto()
    SIGNED_IN = enum.auto()  # a view signed someone in: decide now
    KEY_MOVED = enum.auto()  # the session key rotated: the index follows it


_SIGN_OUT = object()  # the gate's verdict: a pending step-up timed out


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
        state = self._decide(request)
        told = signed_out.notice(request) if _signed_out_here(request, state) else None
        verdict = self._gate(request, state)
        if verdict is _SIGN_OUT:
            verdict = _sign_out(request)
        response = verdict or self.get_response(request)
        if told is not None:
            signed_out.tell(request, response, told)
        after, now = self._after_view(request, state)
        if after is _After.SIGNED_IN:
            response = self._signed_in_here(request, response)
        elif after is _After.KEY_MOVED and now is not None:
            admission.follow_session_key(request, now)
        apply_cookie(request, response)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        state = await self._adecide(request)
        told = None
        if _signed_out_here(request, state):
            told = await sync_to_async(signed_out.notice)(request)
        verdict = self._gate(request, state)
        if verdict is _SIGN_OUT:
            verdict = await sync_to_async(_sign_out)(request)
        get_response: Callable[[HttpRequest], Awaitable[HttpResponse]] = self.get_response
        response = verdict or await get_response(request)
        if told is not None:
            signed_out.tell(request, response, told)  # no I/O: a cookie, or the session
        if request.session.accessed:
            # Loaded already (accessed): aget() answers from memory, no hop.
            await request.session.aget(auth.SESSION_KEY)
        after, now = self._after_view(request, state)
        if after is _After.SIGNED_IN:
            response = await sync_to_async(self._signed_in_here)(request, response)
        elif after is _After.KEY_MOVED and now is not None:
            await sync_to_async(admission.follow_session_key)(request, now)
        apply_cookie(request, response)
        return response

    def _after_view(
        self, request: HttpRequest, before: SessionState | None
    ) -> tuple[_After, SessionState | None]:
        """What the view did to the session (a sign-in, a rotated key), and
        the record as it is now. Pure once the session is loaded."""
        if not request.session.accessed:
            # Neither this gate nor the view read the session (an anonymous
            # request without a session cookie): reading it now would add
            # "Vary: Cookie" to a response that does not depend on it.
            return _After.NOTHING, None
        uid = request.session.get(auth.SESSION_KEY)
        if uid is None:
            return _After.NOTHING, None
        # The view may have rewritten the record (a code passed): as it is now.
        state = SessionState.of(request)
        if before is None or before.uid != str(uid):
            if state is not None and state.uid == str(uid) and state.verified:
                # The view signed in and verified at once (a passkey alone,
                # through trust.flows.mark_verified): nothing is left to decide.
                return _After.NOTHING, state
            return _After.SIGNED_IN, state
        key = request.session.session_key
        if state is not None and key and key != state.session_key:
            # A code passed or a password changed: the index follows the key.
            return _After.KEY_MOVED, state
        return _After.NOTHING, state

    # --- deciding ---------------------------------------------------------------

    def _decide(self, request: HttpRequest) -> SessionState | None:
        uid = request.session.get(auth.SESSION_KEY) if _has_session(request) else None
        state = SessionState.of(request) if uid is not None else None
        if uid is not None and (state is None or state.uid != str(uid)):
            # First request of a sign-in (or a different user): decide once.
            state = _begin(request)
        elif state is not None and _session_too_old(state):
            auth.logout(request)
            state = None
        elif state is not None and state.verified:
            if state.grace_open():
                # First request of a session handed a rotated secret: its
                # double-click grace ends (one write, this request only).
                state = admission.end_grace(request, state)
            if state.agent_digest != agent_digest(raw_user_agent(request)):
                state = admission.recheck_agent(request, state)
            elif state.touch_due(admission.TOUCH_INTERVAL):
                state = admission.touch(request, state)
        self._install(request, state)
        return state

    async def _adecide(self, request: HttpRequest) -> SessionState | None:
        """``_decide`` on the event loop: the session through its async API,
        and a thread only for the database work a decision needs."""
        uid = await request.session.aget(auth.SESSION_KEY) if _has_session(request) else None
        state = SessionState.of(request) if uid is not None else None  # loaded: no I/O
        if uid is not None and (state is None or state.uid != str(uid)):
            state = await sync_to_async(_begin)(request)
        elif state is not None and _session_too_old(state):
            await sync_to_async(auth.logout)(request)
            state = None
        elif state is not None and state.verified:
            if state.grace_open():
                state = await sync_to_async(admission.end_grace)(request, state)
            if state.agent_digest != agent_digest(raw_user_agent(request)):
                state = await sync_to_async(admission.recheck_agent)(request, state)
            elif state.touch_due(admission.TOUCH_INTERVAL):
                state = await sync_to_async(admission.touch)(request, state)
        self._install(request, state)
        return state

    def _install(self, request: HttpRequest, state: SessionState | None) -> None:
        _install(request, state)
        if self.user_agents:
            # Trustgate's one parse of this request's user agent (the same
            # the fingerprint reads), in place of django-user-agents' own.
            request.user_agent = SimpleLazyObject(  # type: ignore[attr-defined]
                functools.partial(parsed_user_agent, request)
            )

    def _signed_in_here(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """A view signed someone in during this very request: decide now.

        Whatever the login view (Django's, the admin's, allauth's, an API
        that answers with data right away), its response is the first thing
        the new session gets, so it passes the gate too: a step-up owed turns
        it into the code page (its own redirect target becomes ``next``).
        Deciding here also means no second request races to decide.
        """
        user = request.user
        if not user.is_authenticated:
            return response
        state = admission.begin(request, user)
        if state.refused:
            return _carrying(response, _refused(request))
        if state.pending:
            return _carrying(response, _step_up(request, state, _redirect_target(response)))
        if state.password_only and state.must_enroll:
            return _carrying(response, _enroll(_redirect_target(response) or "/"))
        return response

    # --- gating -----------------------------------------------------------------

    def _gate(self, request: HttpRequest, state: SessionState | None) -> Any:
        """The answer in place of the view's (or ``_SIGN_OUT``), or ``None``: go on.

        Pure: no query, so both paths call it as it is.
        """
        if state is None:
            return None
        if state.pending:
            if _pending_expired(state):
                return _SIGN_OUT
            if _exempt(request):
                return None
            return _step_up(request, state)
        if state.password_only and state.must_enroll and not _exempt(request, enroll=True):
            return _enroll(request.get_full_path())
        return None


def _signed_out_here(request: HttpRequest, state: SessionState | None) -> bool:
    """A page request whose session was ended elsewhere (its cookie names no
    session): the rare request that asks why (``trust.flows.signed_out``)."""
    return state is None and not _wants_json(request) and signed_out.has_dead_session(request)


def _has_session(request: HttpRequest) -> bool:
    # Without a session cookie there is no session to read: not touching
    # it keeps anonymous responses free of "Vary: Cookie" and of work.
    # SECURITY: unless a middleware before this one already used it (and
    # perhaps signed someone in: RemoteUserMiddleware, magic links).
    return settings.SESSION_COOKIE_NAME in request.COOKIES or request.session.accessed


def _begin(request: HttpRequest) -> SessionState | None:
    """First request of a sign-in (or of a different user): decide once."""
    user = request.user
    if not user.is_authenticated:
        return None
    state = admission.begin(request, user)
    # The risk model refused it: admission.begin signed the session out.
    return None if state.refused else state


def _install(request: HttpRequest, state: SessionState | None) -> None:
    """Hang ``request.trust`` and django-otp's user attributes on the request."""
    request.trust = state.view() if state is not None else NOT_SIGNED_IN  # type: ignore[attr-defined]
    user = getattr(request, "user", None)
    if user is not None:
        _decorate_on_first_read(request, user, state)
    auser = getattr(request, "auser", None)
    if auser is not None:
        # Async views (and Django's async login_required / user_passes_test)
        # read the user through request.auser(): same attributes there.
        request.auser = functools.partial(_decorated_auser, auser, state)  # type: ignore[attr-defined]


async def _decorated_auser(auser: Callable[[], Awaitable[Any]], state: SessionState | None) -> Any:
    return _decorate_user(await auser(), state)


def _enroll(next_url: str) -> HttpResponse:
    """To the enrollment page, and back to ``next_url`` after it."""
    return redirect_to_login(next_url, reverse(conf.ENROLL_URL_NAME), "next")


def _carrying(signed_in: HttpResponse, replacement: HttpResponse) -> HttpResponse:
    """``replacement``, still telling the browser what the login view's answer did.

    SECURITY: the login view rotated the CSRF token (``auth.login``) and set
    it on its own answer (``LoginView`` is ``csrf_protect``ed), like any
    cookie of its own; dropping them would keep the pre-login token alive.
    The answer to a sign-in varies like the view's did and is never cached.
    """
    for name, morsel in signed_in.cookies.items():
        replacement.cookies[name] = morsel
    if signed_in.has_header("Vary"):
        patch_vary_headers(replacement, [v.strip() for v in signed_in["Vary"].split(",")])
    add_never_cache_headers(replacement)
    return replacement


def _redirect_target(response: HttpResponse) -> str | None:
    if 300 <= response.status_code < 400 and response.has_header("Location"):
        return response["Location"]
    return None


def _session_too_old(state: SessionState) -> bool:
    """Past the absolute session lifetime, whatever its activity (NIST §2.2.3)."""
    lifetime = conf.SESSION_LIFETIME
    if lifetime is None or state.signed_in_at is None:
        return False
    return time.time() - state.signed_in_at > lifetime.total_seconds()


def _decorate_user(user: Any, state: SessionState | None) -> Any:
    """django-otp's ``otp_device`` and ``is_verified()``, from the decision.

    Both pickle (code that caches a user or hands it to a task queue), as
    django-otp's do: a ``partial`` of a module-level function, no lambda.
    """
    verified = bool(state is not None and state.verified and user.is_authenticated)
    user = _unwrapped(user)
    if verified and state is not None and state.otp_device:
        user.otp_device = _LazyDevice(state.otp_device)
    else:
        user.otp_device = None
    user.is_verified = functools.partial(_is_verified, verified)
    return user


def _decorate_on_first_read(request: HttpRequest, user: Any, state: SessionState | None) -> None:
    """Decorate ``request.user`` (``_decorate_user``) when it is first read.

    The gate runs on every request: a view that never reads the user must
    not pay its query, and one that does must not pay a second proxy (a
    lazy object around ``AuthenticationMiddleware``'s costs an exception
    on every attribute read). So ``AuthenticationMiddleware``'s own
    ``SimpleLazyObject``, not loaded yet, has its loader extended to
    decorate what it loads. Anything else (a user another middleware
    already loaded or put there, another kind of lazy object) is wrapped
    in one lazy object, decorated on first read as well, so the verdict is
    taken at the same moment whatever came before the gate.
    """
    held = getattr(user, "__dict__", None)  # where SimpleLazyObject keeps both
    if (
        type(user) is SimpleLazyObject
        and held is not None
        and held.get("_wrapped", empty) is empty
        and "_setupfunc" in held
    ):
        held["_setupfunc"] = functools.partial(_decorate_loaded, held["_setupfunc"], state)
        return
    request.user = SimpleLazyObject(  # type: ignore[assignment]
        functools.partial(_decorate_user, user, state)
    )


def _decorate_loaded(load: Callable[[], Any], state: SessionState | None) -> Any:
    return _decorate_user(load(), state)


def _unwrapped(user: Any) -> Any:
    """The object behind a lazy one, loaded (a user itself: as it is).

    Decorating it, not the proxy, keeps ``request.user`` one proxy deep.
    """
    if isinstance(user, LazyObject):
        if user._wrapped is empty:  # type: ignore[attr-defined]
            user._setup()  # type: ignore[attr-defined]  # LazyObject's own hook
        return user._wrapped  # type: ignore[attr-defined]
    return user


def _is_verified(verified: bool) -> bool:
    return verified


class _LazyDevice(SimpleLazyObject):
    """``user.otp_device``: the device loaded on first use (one query), not before.

    Pickled before it is loaded, it stays lazy (its persistent id, no query),
    so pickling a user costs nothing and works in async code too. In async
    code, read its attributes through ``sync_to_async``: loading is a query.
    """

    def __init__(self, persistent_id: str) -> None:
        super().__init__(functools.partial(Device.from_persistent_id, persistent_id))
        self.__dict__["_persistent_id"] = persistent_id
        try:
            model: type = apps.get_model(persistent_id.rsplit("/", 1)[0])
        except (ValueError, LookupError):
            model = Device
        self.__dict__["_model"] = model

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # type: ignore[override]
        # isinstance() asks this: the model is known from the id, so asking
        # loads nothing (pickling a model instance asks it of each attribute).
        wrapped = self.__dict__["_wrapped"]
        return self.__dict__["_model"] if wrapped is empty else type(wrapped)  # type: ignore[no-any-return]

    def __reduce__(self) -> Any:
        if self.__dict__["_wrapped"] is empty:
            return (_LazyDevice, (self.__dict__["_persistent_id"],))
        return super().__reduce__()


def _pending_expired(state: SessionState) -> bool:
    started = state.pending_since or 0.0
    return time.time() - started > conf.PENDING_TIMEOUT.total_seconds()


def _wants_json(request: HttpRequest) -> bool:
    return wants_json(request)  # SPEC's rule, in one place (trust.http)


def _sign_out(request: HttpRequest) -> HttpResponse:
    """A step-up left pending too long: the half-signed-in session ends."""
    auth.logout(request)
    if _wants_json(request):
        return JsonResponse({"error": "authentication_required"}, status=401)
    return redirect_to_login(request.get_full_path())


def _refused(request: HttpRequest) -> HttpResponse:
    """The risk model refused a sign-in whose password was right: answered
    as a failed sign-in (the session is already ended), never saying why."""
    if _wants_json(request):
        return JsonResponse({"error": "sign_in_refused"}, status=401)
    return HttpResponseRedirect(f"{resolve_url(settings.LOGIN_URL)}?{REFUSED_PARAMETER}=1")


# The login page shows its "wrong username or password" error when it sees it.
REFUSED_PARAMETER = "refused"


def _step_up(
    request: HttpRequest, state: SessionState, next_url: str | None = None
) -> HttpResponse:
    verify_url = reverse(conf.VERIFY_URL_NAME)
    if _wants_json(request):
        return JsonResponse(
            {"error": "step_up_required", "verify_url": verify_url, "reasons": state.reasons},
            status=401,
        )
    # ``next`` is checked again (safe_next) when the code page redirects.
    return redirect_to_login(next_url or request.get_full_path(), verify_url, "next")


def _exempt(request: HttpRequest, *, enroll: bool = False) -> bool:
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
    names = {conf.VERIFY_URL_NAME, conf.LOGOUT_URL_NAME, NOT_ME_URL_NAME, *exempt_names}
    if enroll:
        names.add(conf.ENROLL_URL_NAME)
    return match.view_name in names
