"""System checks for a site installing ``trust``, with stable ids."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.utils.module_loading import import_string

from .conf import conf

_AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"
_OTP = "django_otp.middleware.OTPMiddleware"


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
    from .middleware import TrustMiddleware

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
                "OTPMiddleware is redundant next to TrustMiddleware, and costs a "
                "query on every request.",
                hint=f"Remove {_OTP!r}: TrustMiddleware stands in for it.",
                id="trust.W001",
            )
        )
    return errors


_USER_AGENTS = "django_user_agents.middleware.UserAgentMiddleware"


@register()
def check_user_agent_middleware(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """django-user-agents' middleware after the gate re-parses every agent."""
    try:
        from django_user_agents.middleware import UserAgentMiddleware
    except ImportError:
        return []  # an optional extra (trustgate[user-agents]): not installed, nothing to order

    from .middleware import TrustMiddleware

    middleware = list(settings.MIDDLEWARE)
    ours, theirs = (
        _index_of(middleware, TrustMiddleware),
        _index_of(middleware, UserAgentMiddleware),
    )
    if ours is None or theirs is None or theirs < ours:
        return []
    return [
        Warning(
            "UserAgentMiddleware after TrustMiddleware replaces the request.user_agent "
            "Trustgate parsed with a second, slower parse (and a cache round trip).",
            hint=f"Remove {_USER_AGENTS!r}: with django_user_agents in INSTALLED_APPS, "
            "TrustMiddleware sets request.user_agent for its filters.",
            id="trust.W024",
        )
    ]


_OUR_CACHED_DB = "trust.session_backends.cached_db"


@register()
def check_sessions(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """SECURITY: a revoke must end sessions for good, whatever the engine."""
    from django.contrib.sessions.backends import cache, cached_db, db, file, signed_cookies

    from .session_backends import cached_db as ours

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
def check_proxies(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    count = conf.PROXY_COUNT
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        return [
            Error(
                f"TRUST_PROXY_COUNT must be a whole number >= 0, not {count!r}.",
                id="trust.E004",
            )
        ]
    networks = conf.PROXY_NETWORKS
    if isinstance(networks, str | bytes) or not isinstance(networks, list | tuple | set):
        return [
            Error(
                f"TRUST_PROXY_NETWORKS must be a list of networks, not {networks!r}.",
                id="trust.E005",
            )
        ]
    errors: list[CheckMessage] = []
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except (TypeError, ValueError):
            errors.append(
                Error(f"TRUST_PROXY_NETWORKS has {network!r}, not a network.", id="trust.E005")
            )
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


# docs/security.md R24: trust has a hard cap on its lifetime, whatever a site configures.
MAX_LIFETIME = timedelta(days=90)


@register()
def check_limits(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    lifetime, idle = conf.LIFETIME, conf.IDLE_TIMEOUT
    if not isinstance(lifetime, timedelta) or not isinstance(idle, timedelta):
        errors.append(
            Error(
                "TRUST_LIFETIME and TRUST_IDLE_TIMEOUT must be timedelta values.",
                id="trust.E007",
            )
        )
    elif lifetime > MAX_LIFETIME:
        errors.append(
            Warning(
                f"TRUST_LIFETIME is {lifetime.days} days: a device would skip the code "
                f"for longer than the {MAX_LIFETIME.days}-day cap.",
                hint="Shorten it (the default is 30 days).",
                id="trust.W006",
            )
        )
    return errors


@register(deploy=True)
def check_secure_cookie(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if not settings.DEBUG and not settings.SECURE_SSL_REDIRECT:
        return [
            Warning(
                "The trusted-device cookie is Secure only on HTTPS requests, and this "
                "site does not redirect HTTP to HTTPS.",
                hint="Set SECURE_SSL_REDIRECT = True (and serve the site over HTTPS).",
                id="trust.W003",
            )
        ]
    return []


@register()
def check_cookie_name(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from django.views.debug import SafeExceptionReporterFilter

    # SECURITY: Django's error reports show cookies by name; only names that
    # look secret (TOKEN, KEY, SECRET, ...) have their value hidden.
    if SafeExceptionReporterFilter.hidden_settings.search(conf.COOKIE_NAME):
        return []
    return [
        Warning(
            f"TRUST_COOKIE_NAME {conf.COOKIE_NAME!r} would show device secrets in error reports.",
            hint='Keep "token", "key" or "secret" in the name (default: "trustgate_token").',
            id="trust.W007",
        )
    ]


@register()
def check_password_throttle(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from .backends import PasswordThrottleBackend

    backends = list(settings.AUTHENTICATION_BACKENDS)
    ours = _index_of(backends, PasswordThrottleBackend)
    path = "trust.backends.PasswordThrottleBackend"
    errors: list[CheckMessage] = []
    if ours is None:
        errors.append(
            Error(
                f"{path} is not in AUTHENTICATION_BACKENDS: password guessing is not throttled.",
                hint="Put it first in AUTHENTICATION_BACKENDS.",
                id="trust.E030",
            )
        )
    elif ours != 0:
        errors.append(
            Error(
                f"{path} must come first in AUTHENTICATION_BACKENDS: the backends before "
                "it check passwords while their account or address is throttled.",
                hint="Move it to the front of AUTHENTICATION_BACKENDS.",
                id="trust.E031",
            )
        )
    return errors + _password_limits()


def _password_limits() -> list[CheckMessage]:
    counts = {
        "TRUST_PASSWORD_FREE_FAILURES": (conf.PASSWORD_FREE_FAILURES, 0),
        "TRUST_PASSWORD_ADDRESS_FREE_FAILURES": (conf.PASSWORD_ADDRESS_FREE_FAILURES, 0),
        "TRUST_PASSWORD_BURST": (conf.PASSWORD_BURST, 1),
    }
    errors: list[CheckMessage] = [
        Error(f"{name} must be a whole number >= {least}, not {value!r}.", id="trust.E032")
        for name, (value, least) in counts.items()
        if isinstance(value, bool) or not isinstance(value, int) or value < least
    ]
    durations = {
        "TRUST_PASSWORD_MAX_DELAY": conf.PASSWORD_MAX_DELAY,
        "TRUST_PASSWORD_BURST_WINDOW": conf.PASSWORD_BURST_WINDOW,
    }
    errors += [
        Error(f"{name} must be a positive timedelta, not {value!r}.", id="trust.E032")
        for name, value in durations.items()
        if not isinstance(value, timedelta) or value <= timedelta(0)
    ]
    return errors


# --- other stacks: APIs, django-allauth, other 2FA apps ------------------------------

# Views that turn a password into an API token, by the dotted name of the
# class (or of a base class): matched without importing their packages.
_PASSWORD_TO_TOKEN_VIEWS = {
    "rest_framework.authtoken.views.ObtainAuthToken",
    "rest_framework_simplejwt.views.TokenObtainPairView",
    "rest_framework_simplejwt.views.TokenObtainSlidingView",
    "knox.views.LoginView",
}
# Apps that hand out such tokens (by app name, as in INSTALLED_APPS).
_TOKEN_APPS = ("rest_framework.authtoken", "rest_framework_simplejwt", "knox")
_OUR_TOKEN_VIEW = "trust.contrib.drf.views.ObtainTokenView"
_BASIC_AUTHENTICATION = "rest_framework.authentication.BasicAuthentication"


def _routed_views(patterns: Any = None, prefix: str = "") -> list[tuple[str, type]]:
    """(route, view class) of every class-based view the URLconf routes."""
    from django.urls import URLPattern, URLResolver, get_resolver

    if patterns is None:
        try:
            patterns = get_resolver().url_patterns
        except Exception:
            return []  # a URLconf that does not load: Django's own checks say so
    found: list[tuple[str, type]] = []
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            found += _routed_views(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            # DRF's as_view() sets .cls, Django's .view_class.
            cls = getattr(entry.callback, "cls", None) or getattr(
                entry.callback, "view_class", None
            )
            if isinstance(cls, type):
                found.append((route, cls))
    return found


def _dotted_names(cls: type) -> set[str]:
    return {f"{base.__module__}.{base.__qualname__}" for base in cls.__mro__}


@register(Tags.urls)
def check_api_tokens(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """SECURITY: a token minted from a password alone walks around the gate."""
    from django.apps import apps

    routed = _routed_views()
    password_views = [
        f"/{route}" for route, cls in routed if _dotted_names(cls) & _PASSWORD_TO_TOKEN_VIEWS
    ]
    ours = any(_OUR_TOKEN_VIEW in _dotted_names(cls) for _route, cls in routed)
    installed = [name for name in _TOKEN_APPS if apps.is_installed(name)]
    if not password_views and (ours or not installed):
        return []
    where = (
        f"The URL {', '.join(password_views)} mints"
        if password_views
        else f"{', '.join(installed)} is installed: its token views mint"
    )
    return [
        Warning(
            f"{where} API tokens from a password alone; requests with such a token "
            "are answered without a second factor.",
            hint=f"Route {_OUR_TOKEN_VIEW} (a DRF token only for a session that passed "
            "the gate) instead of any password-to-token view.",
            id="trust.W020",
        )
    ]


@register(Tags.urls)
def check_api_basic_auth(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """SECURITY: HTTP Basic signs in by password on every request, around the gate."""
    routes = [
        f"/{route}"
        for route, cls in _routed_views()
        if any(
            _BASIC_AUTHENTICATION in _dotted_names(auth)
            for auth in getattr(cls, "authentication_classes", ())
            if isinstance(auth, type)
        )
    ]
    if not routes:
        return []
    shown = ", ".join(routes[:3]) + (", ..." if len(routes) > 3 else "")
    return [
        Warning(
            f"API views at {shown} accept HTTP Basic authentication: a password alone "
            "gets an answer, without a second factor.",
            hint="Leave BasicAuthentication out of REST_FRAMEWORK's "
            "DEFAULT_AUTHENTICATION_CLASSES (DRF has it by default) and of the views' "
            "authentication_classes: use SessionAuthentication and tokens from "
            f"{_OUR_TOKEN_VIEW}.",
            id="trust.W021",
        )
    ]


@register()
def check_api_token_setting(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    value = conf.API_TOKEN_REQUIRES
    if value in ("verified", "code"):
        return []
    return [
        Error(
            f'TRUST_API_TOKEN_REQUIRES must be "verified" or "code", not {value!r}.',
            hint='Until then, tokens are minted only after a code ("code").',
            id="trust.E020",
        )
    ]


@register(Tags.urls)
def check_logout_url(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A session owing a code must be able to sign out (the code page's button)."""
    from django.urls import NoReverseMatch, reverse

    try:
        name = conf.LOGOUT_URL_NAME
        reverse(name)
    except NoReverseMatch:
        pass
    except Exception:
        return []  # a URLconf that does not load: Django's own checks say so
    else:
        return []
    return [
        Warning(
            f"The sign-out URL name {name!r} does not resolve: a session that owes a "
            "code cannot sign out, and the code page shows no Sign-out button.",
            hint="Set TRUST_LOGOUT_URL_NAME to the URL name of your sign-out view "
            "(Trustgate finds Django's \"logout\" and django-allauth's "
            '"account_logout" by itself).',
            id="trust.W022",
        )
    ]


# Other second-factor apps: both would ask for a code (two prompts on a new
# browser), and theirs would still ask on a browser Trustgate trusts.
_OTHER_TWO_FACTOR_APPS = {
    "allauth.mfa": "django-allauth's mfa",
    "two_factor": "django-two-factor-auth",
}


@register()
def check_other_two_factor(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from django.apps import apps

    return [
        Warning(
            f"{label} ({name!r}) is installed beside Trustgate: a new browser is asked "
            "for two codes, and a browser Trustgate trusts is still asked by it.",
            hint=f"Remove {name!r} from INSTALLED_APPS (and its URLs): Trustgate asks for "
            "the code, on django-otp. Users' authenticators must then be enrolled again "
            "at Trustgate's setup page.",
            id="trust.W023",
        )
        for name, label in _OTHER_TWO_FACTOR_APPS.items()
        if apps.is_installed(name)
    ]


@register()
def check_enrollment_policy(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """TRUST_ENROLLMENT_REQUIRED names a callable, or is None."""
    value = getattr(settings, "TRUST_ENROLLMENT_REQUIRED", None)
    if value is None:
        return []
    try:
        policy = import_string(value) if isinstance(value, str) else value
    except ImportError as error:
        policy, problem = None, f"cannot be imported ({error})"
    else:
        problem = "is not callable"
    if callable(policy):
        return []
    return [
        Error(
            f"TRUST_ENROLLMENT_REQUIRED {value!r} {problem}.",
            hint="Give the dotted path of a function f(user) -> bool, or None.",
            id="trust.E012",
        )
    ]


@register()
def check_deprecated_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from .conf import DEPRECATED_EXEMPT, REMOVED

    found: list[CheckMessage] = []
    for name in DEPRECATED_EXEMPT:
        if hasattr(settings, name):
            found.append(
                Warning(
                    f"{name} is deprecated; it is still read for now.",
                    hint="Put its entries in TRUST_EXEMPT_URLS (URL names, and path "
                    "prefixes starting with '/').",
                    id="trust.W011",
                )
            )
    for name, constant in REMOVED.items():
        if hasattr(settings, name):
            found.append(
                Warning(
                    f"{name} is no longer read: it is the constant {constant} now.",
                    hint="Remove it from your settings.",
                    id="trust.W011",
                )
            )
    return found


@register()
def check_risk_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The risk model's settings (trust.flows.risk), checked at start-up."""
    from django.apps import apps

    from .conf import RISK_NO_EMAIL_CHOICES
    from .rules.risk.blocklist import BlockList

    found: list[CheckMessage] = []
    networks = getattr(settings, "TRUST_RISK_BLOCKED_NETWORKS", ())
    try:
        if isinstance(networks, str):
            raise ValueError("a string, not a list")
        BlockList(networks)
    except (TypeError, ValueError) as error:
        found.append(
            Error(
                f"TRUST_RISK_BLOCKED_NETWORKS is not a list of networks ({error}).",
                hint='Give CIDRs, e.g. ["192.0.2.0/24", "2001:db8::/32"].',
                id="trust.E040",
            )
        )
    signals = getattr(settings, "TRUST_RISK_SIGNALS", ())
    for signal in [] if isinstance(signals, str) else list(signals or ()):
        try:
            target = import_string(signal) if isinstance(signal, str) else signal
        except ImportError as error:
            target = None
            problem = f"cannot be imported ({error})"
        else:
            problem = "is not callable"
        if not callable(target):
            found.append(
                Error(
                    f"TRUST_RISK_SIGNALS entry {signal!r} {problem}.",
                    hint="Give dotted paths of functions f(RiskContext) -> SignalResult.",
                    id="trust.E041",
                )
            )
    if isinstance(signals, str):
        found.append(
            Error(
                "TRUST_RISK_SIGNALS is a string, not a list of dotted paths.",
                id="trust.E041",
            )
        )
    if conf.RISK_NO_EMAIL not in RISK_NO_EMAIL_CHOICES:
        found.append(
            Error(
                f"TRUST_RISK_NO_EMAIL must be one of {RISK_NO_EMAIL_CHOICES}, "
                f"not {conf.RISK_NO_EMAIL!r}.",
                id="trust.E042",
            )
        )
    for name in ("TRUST_RISK_STEP_UP", "TRUST_RISK_TRUSTED_STEP_UP", "TRUST_RISK_DENY"):
        value = getattr(settings, name, 1.0)
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            found.append(Error(f"{name} must be a number, not {value!r}.", id="trust.E043"))
    minimum = getattr(settings, "TRUST_RISK_MIN_USERS", 0)
    if isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 0:
        found.append(
            Error(
                f"TRUST_RISK_MIN_USERS must be a whole number >= 0, not {minimum!r}.",
                id="trust.E044",
            )
        )
    if conf.RISK_ENABLED and not apps.is_installed("django_otp.plugins.otp_email"):
        found.append(
            Warning(
                "django_otp.plugins.otp_email is not installed: a risky sign-in of a "
                "user without 2FA cannot be asked for an e-mailed code, so "
                "TRUST_RISK_NO_EMAIL decides for every such sign-in.",
                hint='Add "django_otp.plugins.otp_email" to INSTALLED_APPS.',
                id="trust.W040",
            )
        )
    return found
