"""Checks of what the gate stands on: its middleware, the session engine,
the password throttle's backend, the proxies the client address comes through,
and the key an HTTPS site binds trusted browsers to."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.utils.module_loading import import_string

from ..conf import conf

_AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"
_OTP = "django_otp.middleware.OTPMiddleware"
_DJANGO_MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _index_of(middleware: list[str], base: type) -> int | None:
    """Position of ``base`` (or a subclass of it) in ``middleware``."""
    for index, path in enumerate(middleware):
        try:
            cls = import_string(path)
        except ImportError:
            continue
        if isinstance(cls, type) and issubclass(cls, base):
            return index
    return None


@register()
def check_middleware(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from ..middleware import TrustMiddleware

    middleware = list(settings.MIDDLEWARE)
    ours = _index_of(middleware, TrustMiddleware)
    if ours is None:
        return [
            Error(
                "trust.middleware.TrustMiddleware is not in MIDDLEWARE: nothing "
                "enforces two-factor authentication.",
                hint="Add it after AuthenticationMiddleware.",
                id="trust.E001",
            )
        ]
    errors: list[CheckMessage] = []
    auth = _index_of(middleware, import_string(_AUTH))
    if auth is None or auth > ours:
        errors.append(
            Error(
                "TrustMiddleware must come after AuthenticationMiddleware.",
                hint=f"Move it below {_AUTH!r} in MIDDLEWARE.",
                id="trust.E002",
            )
        )
    if _index_of(middleware, import_string(_OTP)) is not None:
        errors.append(
            Warning(
                "OTPMiddleware beside TrustMiddleware wraps request.user again: after "
                "it, is_verified() is django-otp's answer, false for a session let in "
                "by a trusted device; in either place a code-verified session's "
                "device is loaded with a query whenever a view reads the user.",
                hint=f"Remove {_OTP!r}: TrustMiddleware stands in for it.",
                id="trust.W001",
            )
        )
    return errors


_OUR_CACHED_DB = "trust.session_backends.cached_db"


@register()
def check_sessions(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """SECURITY: a revoke must end sessions for good, whatever the engine."""
    from django.contrib.sessions.backends import cache, cached_db, db, file, signed_cookies

    from ..session_backends import cached_db as ours

    try:
        store = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
    except ImportError:
        return []  # Django's own checks and the first request say so
    if issubclass(store, signed_cookies.SessionStore):
        return [
            Error(
                "Revoking a trusted device cannot end its sessions with signed-cookie sessions.",
                hint=f'Use a server-side SESSION_ENGINE ("{_OUR_CACHED_DB}", or db).',
                id="trust.E003",
            )
        ]
    if issubclass(store, ours.SessionStore) or (
        issubclass(store, db.SessionStore | file.SessionStore)
        and not issubclass(store, cached_db.SessionStore)
    ):
        return []
    if issubclass(store, cached_db.SessionStore):
        return [
            Error(
                "With Django's cached_db sessions, a request in flight while its session "
                "is ended (a revoked device) can copy it back into the cache.",
                hint=f'Use SESSION_ENGINE = "{_OUR_CACHED_DB}": the same store, with '
                "ended sessions that stay ended.",
                id="trust.E010",
            )
        ]
    if issubclass(store, cache.SessionStore):
        return [
            Error(
                "With cache-only sessions, a request in flight while its session is "
                "ended (a revoked device) writes it back.",
                hint=f'Use SESSION_ENGINE = "{_OUR_CACHED_DB}" (or db).',
                id="trust.E011",
            )
        ]
    return [
        Warning(
            f"Trustgate cannot tell whether SESSION_ENGINE {settings.SESSION_ENGINE!r} "
            "keeps a revoked device's sessions ended.",
            hint="Make sure a session deleted from the store cannot be saved back by a "
            "request in flight, then silence trust.W010.",
            id="trust.W010",
        )
    ]


@register()
def check_password_throttle(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from ..backends import ModelBackend, PasswordThrottleBackend

    backends = list(settings.AUTHENTICATION_BACKENDS)
    found = [
        index
        for index in (
            _index_of(backends, ModelBackend),
            _index_of(backends, PasswordThrottleBackend),
        )
        if index is not None
    ]
    errors: list[CheckMessage] = []
    if not found:
        errors.append(
            Error(
                "No password throttle in AUTHENTICATION_BACKENDS: password guessing is "
                "not throttled.",
                hint=f"Replace {_DJANGO_MODEL_BACKEND!r} with 'trust.backends.ModelBackend' "
                "(a site without ModelBackend puts 'trust.backends.PasswordThrottleBackend' "
                "first).",
                id="trust.E030",
            )
        )
    elif min(found) != 0:
        errors.append(
            Error(
                f"{backends[0]} comes before the password throttle in "
                "AUTHENTICATION_BACKENDS: it checks passwords while their account or "
                "address is throttled.",
                hint="Put 'trust.backends.ModelBackend' (in place of Django's) or "
                "'trust.backends.PasswordThrottleBackend' first.",
                id="trust.E031",
            )
        )
    return errors


@register()
def check_proxies(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """SECURITY: the client address feeds the fingerprint, the throttle and the risk model."""
    count, networks = conf.PROXY_COUNT, conf.PROXY_NETWORKS
    errors: list[CheckMessage] = []
    if networks and not count:
        errors.append(
            Warning(
                "TRUST_PROXY_NETWORKS is set but TRUST_PROXY_COUNT is 0: forwarded "
                "headers are ignored.",
                id="trust.W002",
            )
        )
    if count and not networks:
        errors.append(
            Warning(
                "TRUST_PROXY_COUNT is set without TRUST_PROXY_NETWORKS: X-Forwarded-For "
                "is believed from any connection, so a client that reaches the site "
                "without passing the proxies can choose its own IP.",
                hint="List your proxies' networks in TRUST_PROXY_NETWORKS, or silence "
                "trust.W004 if nothing but them can reach the site.",
                id="trust.W004",
            )
        )
    return errors


@register(deploy=True)
def check_device_binding(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """An HTTPS site without the "dbsc" extra offers no browser DBSC, and nothing else says so."""
    from .. import dbsc

    if not settings.SESSION_COOKIE_SECURE or dbsc.available():
        return []
    return [
        Warning(
            "The site is served over HTTPS (SESSION_COOKIE_SECURE), but the 'dbsc' extra "
            "(PyJWT with cryptography) is not installed: no trusted browser is bound to a "
            "key it holds, so a copied trust cookie stands in for the browser wherever the "
            "risk model lets it.",
            hint="Install trustgate[dbsc] (docs/risk.md, Device Bound Session Credentials).",
            id="trust.W005",
        )
    ]
