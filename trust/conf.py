"""Settings of the ``trust`` app, each with its documented default.

Read them through ``conf`` (``from trust.conf import conf``). Each property
reads ``django.conf.settings`` and validates the value on first read: a
value of the wrong type or out of range raises ``ImproperlyConfigured``
naming the setting. The valid value is then kept until Django's
``setting_changed`` signal says a setting changed, as DRF's ``api_settings``
does (``override_settings`` and pytest-django's ``settings`` fixture send
it), so the gate reads no setting on a request (an unset one costs an
exception inside ``django.conf.settings``). ``TrustConfig.ready()`` reads
every setting once, so a malformed one stops the start-up.

Every setting is an entry of ``_DEFAULTS`` below: its name, its default, and
the ``#:`` comment above it saying what it does. That comment is the one
description there is: the documentation's settings reference is generated
from it (``docs/_ext/trustgate_reference.py``), so a setting without one
fails the docs build. What no site needs to change is a constant of the
module that uses it (docs/reference/settings.md lists them).
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Callable
from datetime import timedelta
from functools import lru_cache
from typing import Any, Generic, TypeVar, cast

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from .rules.fingerprint import NETWORK_IPV4_PREFIX, NETWORK_IPV6_PREFIX

_DEFAULTS: dict[str, Any] = {
    #: Trust lasts this long from the code that created it; use does not extend it. At most 90
    #: days.
    "TRUST_LIFETIME": timedelta(days=30),
    #: Trust lapses when unused this long.
    "TRUST_IDLE_TIMEOUT": timedelta(days=14),
    #: Reverse proxies in front of the site (``REMOTE_ADDR`` is the last of them). While 0,
    #: forwarded headers are ignored.
    "TRUST_PROXY_COUNT": 0,
    #: Networks those proxies live in (CIDRs): forwarded headers are read only from them.
    "TRUST_PROXY_NETWORKS": (),
    #: A session that owes a code is signed out after this.
    "TRUST_PENDING_TIMEOUT": timedelta(minutes=10),
    #: Dotted path of ``f(user) -> bool``: the users it names must enroll before going on.
    "TRUST_ENROLLMENT_REQUIRED": None,
    #: URL name of the sign-out view (the gate lets a session that owes a code reach it; the
    #: code page's "Sign out" posts to it). ``None``: Django's "logout" if the URLconf has it,
    #: else django-allauth's "account_logout" (``trust.W022`` says when none resolves).
    "TRUST_LOGOUT_URL_NAME": None,
    #: A signed-in session ends this long after sign-in, however active (NIST SP 800-63B-4 suggests
    #: 24 hours at AAL2). ``None``: the site's own session settings decide.
    "TRUST_SESSION_LIFETIME": None,
    #: More URLs a session that owes a code may reach: URL names ("app:name"), or path prefixes
    #: (starting with "/"). The code page, the sign-out view, static and media files and the
    #: alerts' "this wasn't me" link always are.
    "TRUST_EXEMPT_URLS": (),
    #: Score every password sign-in and apply the rules beside the score (the risk model).
    "TRUST_RISK_ENABLED": True,
    #: A code is owed at or above this score (a likelihood ratio of 1, from the evaluation).
    "TRUST_RISK_STEP_UP": 1.0,
    #: The same on a trusted device: by default the score alone never takes a valid trust away.
    "TRUST_RISK_TRUSTED_STEP_UP": math.inf,
    #: A sign-in is refused at or above this score (``inf``: never by the score alone).
    "TRUST_RISK_DENY": math.inf,
    #: Score, apply the rules and record what they would have done (``SignInAttempt.risk_action``),
    #: but never ask for a code or refuse for them: measure before enforcing. A burst of wrong
    #: passwords still owes a code.
    "TRUST_RISK_SHADOW": False,
    #: CIDRs whose sign-ins are refused before the password is checked (``blocked_address``).
    "TRUST_RISK_BLOCKED_NETWORKS": (),
    #: Dotted paths of the site's own signals: ``f(RiskContext) -> SignalResult`` (``trust.risk``).
    "TRUST_RISK_SIGNALS": (),
    #: A user without 2FA and without an e-mail address whose sign-in owes a code: "allow" (let in,
    #: recorded and signalled) or "deny".
    "TRUST_RISK_NO_EMAIL": "allow",
    #: ``trust_prune`` drops sign-in history older than this.
    "TRUST_SIGN_IN_HISTORY_MAX_AGE": timedelta(days=180),
    #: Where ``manage.py trust_geo_load`` installs downloaded MMDB files (GeoLite2,
    #: DB-IP Lite or IPinfo Lite) and where every process reads them at start;
    #: None: the country and operator data shipped in geoip2fast (docs/geo.md).
    "TRUST_GEOIP_DIR": None,
    #: E-mail users about security events (a new trusted device, a sign-in from a new country,
    #: 2FA turned off, a backup code used, a second factor added or removed, a copied cookie, a
    #: burst of wrong passwords), with the "this wasn't me" link (docs/alerts.md).
    "TRUST_ALERT_EMAILS": False,
}

# docs/security.md R24: trust has a hard cap on its lifetime, whatever a site configures.
MAX_LIFETIME = timedelta(days=90)

RISK_NO_EMAIL_CHOICES = ("allow", "deny")

# The sign-out views Trustgate knows by URL name, tried in order when
# TRUST_LOGOUT_URL_NAME is not set: Django's auth URLs, then django-allauth's.
LOGOUT_URL_NAMES = ("logout", "account_logout")


def _get(name: str) -> Any:
    return getattr(settings, name, _DEFAULTS[name])


def _invalid(name: str, expected: str, value: Any) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{name} must be {expected}, not {value!r}.")


def _duration(name: str, *, optional: bool = False) -> Any:
    value = _get(name)
    if optional and value is None:
        return None
    if not isinstance(value, timedelta) or value <= timedelta(0):
        expected = "a positive timedelta" + (" or None" if optional else "")
        raise _invalid(name, expected, value)
    return value


def _whole(name: str, *, least: int = 0) -> int:
    value = _get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise _invalid(name, f"a whole number >= {least}", value)
    return value


def _score(name: str) -> float:
    value = _get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise _invalid(name, "a number (math.inf: never)", value)
    return float(value)


def _strings(name: str) -> tuple[str, ...]:
    value = _get(name)
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
        raise _invalid(name, "a list of strings", value)
    if not all(isinstance(entry, str) for entry in value):
        raise _invalid(name, "a list of strings", value)
    return tuple(value)


@lru_cache(maxsize=8)
def _parsed_networks(name: str, cidrs: tuple[str, ...]) -> tuple[str, ...]:
    # Parsed once per list, not on every request.
    for cidr in cidrs:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} has {cidr!r}, which is not a network (give CIDRs such as "
                '"192.0.2.0/24" or "2001:db8::/32").'
            ) from None
    return cidrs


def _networks(name: str) -> tuple[str, ...]:
    return _parsed_networks(name, _strings(name))


@lru_cache(maxsize=16)
def _callable(name: str, path: str) -> Callable[..., Any]:
    # Imported once per path, not on every sign-in.
    try:
        target = import_string(path)
    except ImportError as error:
        raise ImproperlyConfigured(f"{name}: {path!r} cannot be imported ({error}).") from error
    if not callable(target):
        raise ImproperlyConfigured(f"{name}: {path!r} is not callable.")
    return target


def _function(name: str, value: Any) -> Callable[..., Any]:
    if isinstance(value, str):
        return _callable(name, value)
    if not callable(value):
        raise _invalid(name, "a dotted path of a function", value)
    return value


T = TypeVar("T")

# Validated values, kept from first read until a setting changes.
_kept: dict[str, Any] = {}


class Kept(Generic[T]):
    """A ``Conf`` property read and validated on first use, then kept (both
    apps' settings objects use it)."""

    def __init__(self, read: Callable[[Any], T]) -> None:
        self.read, self.__doc__ = read, read.__doc__
        self.name = f"{read.__module__}.{read.__qualname__}"

    def __get__(self, instance: object, owner: type | None = None) -> T:
        try:
            return cast(T, _kept[self.name])
        except KeyError:
            value = _kept[self.name] = self.read(instance)
            return value


def forget(**kwargs: Any) -> None:
    """``setting_changed``: read every setting again on its next use."""
    _kept.clear()


# Connected here, on import, so it runs before any receiver that reads
# ``conf`` for the new value (trust.receivers.geoip_dir_changed).
setting_changed.connect(forget, dispatch_uid="trust.conf.forget")


class Conf:
    """One typed property per setting; see ``_DEFAULTS`` for what each does."""

    # Constants, kept here while trust.flows.risk reads them from ``conf``.
    IPV4_PREFIX = NETWORK_IPV4_PREFIX
    IPV6_PREFIX = NETWORK_IPV6_PREFIX

    @Kept
    def LIFETIME(self) -> timedelta:
        lifetime = _duration("TRUST_LIFETIME")
        if lifetime > MAX_LIFETIME:
            # SECURITY: docs/security.md R24, a cap no site configures away.
            raise _invalid("TRUST_LIFETIME", f"at most {MAX_LIFETIME.days} days", lifetime)
        return lifetime

    @Kept
    def IDLE_TIMEOUT(self) -> timedelta:
        return _duration("TRUST_IDLE_TIMEOUT")

    @Kept
    def PROXY_COUNT(self) -> int:
        return _whole("TRUST_PROXY_COUNT")

    @Kept
    def PROXY_NETWORKS(self) -> tuple[str, ...]:
        return _networks("TRUST_PROXY_NETWORKS")

    @Kept
    def PENDING_TIMEOUT(self) -> timedelta:
        return _duration("TRUST_PENDING_TIMEOUT")

    @Kept
    def ENROLLMENT_REQUIRED(self) -> Callable[[Any], bool] | None:
        value = _get("TRUST_ENROLLMENT_REQUIRED")
        return None if value is None else _function("TRUST_ENROLLMENT_REQUIRED", value)

    @property
    def LOGOUT_URL_NAME(self) -> str:
        """The setting if set; else the first known sign-out name the URLconf has."""
        name = _logout_url_setting()
        return name if name is not None else _detected_logout_url_name()

    @Kept
    def SESSION_LIFETIME(self) -> timedelta | None:
        return _duration("TRUST_SESSION_LIFETIME", optional=True)

    @Kept
    def EXEMPT_URLS(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(path prefixes, URL names)."""
        entries = _strings("TRUST_EXEMPT_URLS")
        paths = tuple(e for e in entries if e.startswith("/"))
        names = tuple(e for e in entries if not e.startswith("/"))
        return paths, names

    @Kept
    def RISK_ENABLED(self) -> bool:
        return bool(_get("TRUST_RISK_ENABLED"))

    @Kept
    def RISK_SHADOW(self) -> bool:
        return bool(_get("TRUST_RISK_SHADOW"))

    @Kept
    def RISK_THRESHOLDS(self) -> Any:
        """The score's thresholds; the rules' own switches keep the defaults
        the evaluation chose (``trust.rules.risk.decision.Thresholds``)."""
        from .rules.risk.decision import Thresholds

        return Thresholds(
            step_up=_score("TRUST_RISK_STEP_UP"),
            trusted_step_up=_score("TRUST_RISK_TRUSTED_STEP_UP"),
            deny=_score("TRUST_RISK_DENY"),
        )

    @Kept
    def RISK_BLOCKED_NETWORKS(self) -> Any:
        """The parsed block list (``trust.rules.risk.blocklist.BlockList``)."""
        return _block_list(_networks("TRUST_RISK_BLOCKED_NETWORKS"))

    @Kept
    def RISK_SIGNALS(self) -> tuple[Callable[[Any], Any], ...]:
        value = _get("TRUST_RISK_SIGNALS")
        if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
            raise _invalid("TRUST_RISK_SIGNALS", "a list of dotted paths", value)
        return tuple(_function("TRUST_RISK_SIGNALS", signal) for signal in value)

    @Kept
    def RISK_NO_EMAIL(self) -> str:
        value = _get("TRUST_RISK_NO_EMAIL")
        if value not in RISK_NO_EMAIL_CHOICES:
            raise _invalid("TRUST_RISK_NO_EMAIL", '"allow" or "deny"', value)
        return value

    @Kept
    def SIGN_IN_HISTORY_MAX_AGE(self) -> timedelta:
        return _duration("TRUST_SIGN_IN_HISTORY_MAX_AGE")

    @Kept
    def GEOIP_DIR(self) -> str | None:
        value = _get("TRUST_GEOIP_DIR")
        if value is not None and not isinstance(value, str | os.PathLike):
            raise _invalid("TRUST_GEOIP_DIR", "a directory path or None", value)
        return os.fspath(value) if value else None

    @Kept
    def ALERT_EMAILS(self) -> bool:
        return bool(_get("TRUST_ALERT_EMAILS"))

    def validate(self) -> None:
        """Read every setting once: a malformed one raises ``ImproperlyConfigured``.

        ``TRUST_LOGOUT_URL_NAME`` is only type-checked here: whether it resolves
        is check ``trust.W022``'s (resolving would load the URLconf during start-up).
        """
        _logout_url_setting()
        for name in dir(self):
            if name.isupper() and name != "LOGOUT_URL_NAME":
                getattr(self, name)


def _logout_url_setting() -> str | None:
    name = _get("TRUST_LOGOUT_URL_NAME")
    if name is not None and (not isinstance(name, str) or not name):
        raise _invalid("TRUST_LOGOUT_URL_NAME", "a URL name or None", name)
    return name


@lru_cache(maxsize=4)
def _block_list(cidrs: tuple[str, ...]) -> Any:
    from .rules.risk.blocklist import BlockList

    return BlockList(cidrs)


def _detected_logout_url_name() -> str:
    # Read at call time (the URLconf can differ per request and per test).
    from django.urls import NoReverseMatch, reverse

    for name in LOGOUT_URL_NAMES:
        try:
            reverse(name)
        except NoReverseMatch:
            continue
        return name
    return LOGOUT_URL_NAMES[0]


conf = Conf()
