"""Checks of what sits beside Trustgate: API tokens and HTTP Basic (ways
around the gate), DRF's token app, the sign-out view, other 2FA apps."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Tags, Warning, register

from ..conf import conf

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


@register(Tags.urls)
def check_token_app(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """trust.contrib.drf's token view stores DRF tokens: their app must be installed."""
    from django.apps import apps

    if apps.is_installed("rest_framework.authtoken"):
        return []
    routes = [
        f"/{route}" for route, cls in _routed_views() if _OUR_TOKEN_VIEW in _dotted_names(cls)
    ]
    if not routes:
        return []
    # Without the app DRF's Token model is abstract: every POST would fail
    # with "'Token' has no attribute 'objects'" (a 500).
    return [
        Error(
            f"The token view at {', '.join(routes)} needs rest_framework.authtoken in "
            "INSTALLED_APPS: without it no token can be stored, and every request to it "
            "fails with a server error.",
            hint='Add "rest_framework" and "rest_framework.authtoken" to INSTALLED_APPS, '
            "then run migrate.",
            id="trust.E021",
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
