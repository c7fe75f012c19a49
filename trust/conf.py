"""Settings of the ``trust`` app, each with its documented default.

Read them through ``conf`` (``from trust.conf import conf``). A value is
read from ``django.conf.settings`` once and kept while the settings are the
same object: ``override_settings`` (and pytest-django's ``settings``
fixture) put a new one in place, and Django's ``setting_changed`` signal
clears what was kept too. Why keep them: an unset setting costs an exception
inside ``settings`` on every read (~7 µs), and the middleware reads several
on every request. A value assigned to ``django.conf.settings`` by hand at
run time is not seen (Django's documentation asks that settings not be
altered at run time; use ``override_settings``).

Every setting is an entry of ``_DEFAULTS`` below: its name, its default, and
the ``#:`` comment above it saying what it does. That comment is the one
description there is: the documentation's settings reference is generated
from it (``docs/_ext/trustgate_reference.py``), so a setting without one
fails the docs build.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

_DEFAULTS: dict[str, Any] = {
    #: Trust lasts this long from the code that created it; use does not extend it. At most 90 days
    #: (``trust.W006``).
    "TRUST_LIFETIME": timedelta(days=30),
    #: Trust lapses when unused this long.
    "TRUST_IDLE_TIMEOUT": timedelta(days=14),
    #: Trusted devices per user; one more evicts the least recently used.
    "TRUST_MAX_DEVICES": 20,
    #: The device cookie's name (``__Host-`` is put in front of it on HTTPS). Keep "token" (or
    #: "key", "secret") in it: Django's error reports then hide its value (``trust.W007``).
    "TRUST_COOKIE_NAME": "trustgate_token",
    #: Challenge sign-ins from a network the device was not seen on before.
    "TRUST_REQUIRE_KNOWN_NETWORK": False,
    #: Network size of an IPv4 address (for ``TRUST_REQUIRE_KNOWN_NETWORK``).
    "TRUST_IPV4_PREFIX": 24,
    #: Network size of an IPv6 address.
    "TRUST_IPV6_PREFIX": 64,
    #: Reverse proxies in front of the site (``REMOTE_ADDR`` is the last of them). While 0,
    #: forwarded headers are ignored.
    "TRUST_PROXY_COUNT": 0,
    #: Networks those proxies live in (CIDRs): forwarded headers are read only from them.
    "TRUST_PROXY_NETWORKS": (),
    #: A session that owes a code is signed out after this.
    "TRUST_PENDING_TIMEOUT": timedelta(minutes=10),
    #: URL name of the code page.
    "TRUST_VERIFY_URL_NAME": "otp_flow:verify",
    #: URL name of the enrollment page.
    "TRUST_ENROLL_URL_NAME": "otp_flow:setup",
    #: Dotted path of ``f(user) -> bool``: the users it names must enroll before going on
    #: (``trust.E012``).
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
    #: Wrong passwords for one account (known or not) before each further attempt waits: 1 s, then
    #: twice as long after each failure.
    "TRUST_PASSWORD_FREE_FAILURES": 5,
    #: The same, from one client address (an IPv6 /64 is one address).
    "TRUST_PASSWORD_ADDRESS_FREE_FAILURES": 20,
    #: The longest wait: nobody is locked out for good.
    "TRUST_PASSWORD_MAX_DELAY": timedelta(minutes=15),
    #: Wrong passwords for one account within ``TRUST_PASSWORD_BURST_WINDOW``: its next sign-in
    #: owes a code, even on a trusted device.
    "TRUST_PASSWORD_BURST": 10,
    #: The window of ``TRUST_PASSWORD_BURST``.
    "TRUST_PASSWORD_BURST_WINDOW": timedelta(minutes=15),
    #: What a session needs for ``trust.contrib.drf``'s token view: "verified" (a code, or a
    #: trusted device) or "code" (a code entered in this session).
    "TRUST_API_TOKEN_REQUIRES": "verified",
    #: Score every password sign-in and apply the rules beside the score (the risk model).
    "TRUST_RISK_ENABLED": True,
    #: A code is owed at or above this score (a likelihood ratio of 1, from the evaluation).
    "TRUST_RISK_STEP_UP": 1.0,
    #: The same on a trusted device: by default the score alone never takes a valid trust away.
    "TRUST_RISK_TRUSTED_STEP_UP": math.inf,
    #: A sign-in is refused at or above this score (``inf``: never by the score alone).
    "TRUST_RISK_DENY": math.inf,
    #: A trusted device in a country new to the user owes a code (a copied cookie abroad).
    "TRUST_RISK_NEW_COUNTRY_ON_TRUSTED": True,
    #: A sign-in without a trusted device from an operator (ASN) new to the user owes a code.
    "TRUST_RISK_NEW_ASN_STEP_UP": True,
    #: The same from an address block (/16, /40) new to the user (``new_block``).
    "TRUST_RISK_NEW_NETWORK_STEP_UP": True,
    #: A trusted device in a country it was never used in owes a code, unless the user's last
    #: sign-in or most of them were from there (``new_device_country``).
    "TRUST_RISK_NEW_COUNTRY_ON_DEVICE": True,
    #: The score applies once this many users have sign-in history (on a smaller site the
    #: population is too few to stand for an attacker); the rules apply from the start.
    "TRUST_RISK_MIN_USERS": 50,
    #: CIDRs whose sign-ins are refused before the password is checked (``blocked_address``).
    "TRUST_RISK_BLOCKED_NETWORKS": (),
    #: Dotted paths of the site's own signals: ``f(RiskContext) -> SignalResult``.
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

RISK_NO_EMAIL_CHOICES = ("allow", "deny")

# The sign-out views Trustgate knows by URL name, tried in order when
# TRUST_LOGOUT_URL_NAME is not set: Django's auth URLs, then django-allauth's.
LOGOUT_URL_NAMES = ("logout", "account_logout")


# (the settings object, the values read from it), replaced as one: a thread
# never keeps a value read from one settings object among another's.
_kept: tuple[Any, dict[str, Any]] = (None, {})


def _get(name: str) -> Any:
    global _kept
    current = settings._wrapped  # type: ignore[misc]  # override_settings replaces it
    kept_from, values = _kept
    if kept_from is not current:
        values = {}
        _kept = (current, values)
    try:
        return values[name]
    except KeyError:
        value = getattr(settings, name, _DEFAULTS[name])
        if settings._wrapped is current:  # type: ignore[misc]  # not changed meanwhile
            values[name] = value
        return value


def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    global _kept
    if setting.startswith("TRUST_"):
        _kept = (None, {})


setting_changed.connect(_setting_changed, dispatch_uid="trust.conf")


class Conf:
    @property
    def LIFETIME(self) -> timedelta:
        return _get("TRUST_LIFETIME")

    @property
    def IDLE_TIMEOUT(self) -> timedelta:
        return _get("TRUST_IDLE_TIMEOUT")

    @property
    def MAX_DEVICES(self) -> int:
        return _get("TRUST_MAX_DEVICES")

    @property
    def COOKIE_NAME(self) -> str:
        return _get("TRUST_COOKIE_NAME")

    @property
    def REQUIRE_KNOWN_NETWORK(self) -> bool:
        return bool(_get("TRUST_REQUIRE_KNOWN_NETWORK"))

    @property
    def IPV4_PREFIX(self) -> int:
        return _get("TRUST_IPV4_PREFIX")

    @property
    def IPV6_PREFIX(self) -> int:
        return _get("TRUST_IPV6_PREFIX")

    @property
    def PROXY_COUNT(self) -> int:
        return _get("TRUST_PROXY_COUNT")

    @property
    def PROXY_NETWORKS(self) -> Sequence[str]:
        return _get("TRUST_PROXY_NETWORKS")

    @property
    def PENDING_TIMEOUT(self) -> timedelta:
        return _get("TRUST_PENDING_TIMEOUT")

    @property
    def EXEMPT_URLS(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(path prefixes, URL names), the deprecated split settings included."""
        entries = [*_get("TRUST_EXEMPT_URLS"), *_deprecated_exempt()]
        paths = tuple(e for e in entries if isinstance(e, str) and e.startswith("/"))
        names = tuple(e for e in entries if isinstance(e, str) and not e.startswith("/"))
        return paths, names

    @property
    def VERIFY_URL_NAME(self) -> str:
        return _get("TRUST_VERIFY_URL_NAME")

    @property
    def ENROLL_URL_NAME(self) -> str:
        return _get("TRUST_ENROLL_URL_NAME")

    @property
    def LOGOUT_URL_NAME(self) -> str:
        """The setting if set; else the first known sign-out name the URLconf has."""
        name = getattr(settings, "TRUST_LOGOUT_URL_NAME", None)
        return name if name is not None else _detected_logout_url_name()

    @property
    def ENROLLMENT_REQUIRED(self) -> Callable[[Any], bool] | None:
        value = _get("TRUST_ENROLLMENT_REQUIRED")
        return _imported(value) if isinstance(value, str) else value

    @property
    def SESSION_LIFETIME(self) -> timedelta | None:
        return _get("TRUST_SESSION_LIFETIME")

    @property
    def PASSWORD_FREE_FAILURES(self) -> int:
        return _get("TRUST_PASSWORD_FREE_FAILURES")

    @property
    def PASSWORD_ADDRESS_FREE_FAILURES(self) -> int:
        return _get("TRUST_PASSWORD_ADDRESS_FREE_FAILURES")

    @property
    def PASSWORD_MAX_DELAY(self) -> timedelta:
        return _get("TRUST_PASSWORD_MAX_DELAY")

    @property
    def PASSWORD_BURST(self) -> int:
        return _get("TRUST_PASSWORD_BURST")

    @property
    def PASSWORD_BURST_WINDOW(self) -> timedelta:
        return _get("TRUST_PASSWORD_BURST_WINDOW")

    @property
    def API_TOKEN_REQUIRES(self) -> str:
        return _get("TRUST_API_TOKEN_REQUIRES")

    @property
    def RISK_ENABLED(self) -> bool:
        return bool(_get("TRUST_RISK_ENABLED"))

    @property
    def RISK_THRESHOLDS(self) -> Any:
        from .rules.risk.decision import Thresholds

        return Thresholds(
            step_up=float(_get("TRUST_RISK_STEP_UP")),
            trusted_step_up=float(_get("TRUST_RISK_TRUSTED_STEP_UP")),
            deny=float(_get("TRUST_RISK_DENY")),
            new_country_on_trusted=bool(_get("TRUST_RISK_NEW_COUNTRY_ON_TRUSTED")),
            new_asn_step_up=bool(_get("TRUST_RISK_NEW_ASN_STEP_UP")),
            new_network_step_up=bool(_get("TRUST_RISK_NEW_NETWORK_STEP_UP")),
            new_country_on_device=bool(_get("TRUST_RISK_NEW_COUNTRY_ON_DEVICE")),
            min_users=int(_get("TRUST_RISK_MIN_USERS")),
        )

    @property
    def RISK_BLOCKED_NETWORKS(self) -> Any:
        """The parsed block list (``trust.rules.risk.blocklist.BlockList``)."""
        return _block_list(tuple(_get("TRUST_RISK_BLOCKED_NETWORKS") or ()))

    @property
    def RISK_SIGNALS(self) -> tuple[Callable[[Any], Any], ...]:
        return tuple(
            _imported(s) if isinstance(s, str) else s for s in _get("TRUST_RISK_SIGNALS") or ()
        )

    @property
    def RISK_NO_EMAIL(self) -> str:
        return _get("TRUST_RISK_NO_EMAIL")

    @property
    def SIGN_IN_HISTORY_MAX_AGE(self) -> timedelta:
        return _get("TRUST_SIGN_IN_HISTORY_MAX_AGE")

    @property
    def GEOIP_DIR(self) -> str | None:
        value = _get("TRUST_GEOIP_DIR")
        return os.fspath(value) if value else None

    @property
    def ALERT_EMAILS(self) -> bool:
        return bool(_get("TRUST_ALERT_EMAILS"))


# Settings of earlier versions: still read where cheap, with a warning
# (trust.W011); the others are constants now.
DEPRECATED_EXEMPT = ("TRUST_EXEMPT_PATHS", "TRUST_EXEMPT_URL_NAMES")
REMOVED = {
    "TRUST_COOKIE_MAX_USERS": "trust.cookie.MAX_USERS",
    "TRUST_NOT_ME_LINK_MAX_AGE": "trust.flows.not_me.LINK_MAX_AGE",
    "TRUST_USER_AGENT_MAX_LENGTH": "trust.rules.fingerprint.MAX_USER_AGENT_LENGTH",
    "TRUST_TOUCH_INTERVAL": "trust.flows.admission.TOUCH_INTERVAL",
}


@lru_cache(maxsize=8)
def _imported(path: str) -> Any:
    # Once per path, not on every sign-in (trust.E012 checks it at start-up).
    return import_string(path)


@lru_cache(maxsize=4)
def _block_list(cidrs: tuple[str, ...]) -> Any:
    # Parsed once per list (trust.E040 checks it at start-up).
    from .rules.risk.blocklist import BlockList

    return BlockList(cidrs)


def _deprecated_exempt() -> list[str]:
    found: list[str] = []
    for name in DEPRECATED_EXEMPT:
        found.extend(getattr(settings, name, ()) or ())
    return found


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
