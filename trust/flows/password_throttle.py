"""Throttling password guessing, per account and per client address.

Every login view reaches it through Django's own hooks:
``trust.backends.ModelBackend`` (or ``PasswordThrottleBackend``), first in
``AUTHENTICATION_BACKENDS``, asks ``refuses()`` before any backend checks a
password; the receivers of ``user_login_failed`` and ``user_logged_in``
(``connect()``) count and clear. The counts are ``PasswordThrottle`` rows
changed only by atomic statements, so every server and every parallel
request spends one shared budget.

An account has one budget, whichever of its names an attempt typed
(``budgets_named``: the username, an e-mail address, in any case or width);
a name that is no account's has one of its own, by its normalized form.

A refused attempt is answered exactly as a wrong password (Django's
``authenticate()`` returns ``None`` and sends ``user_login_failed``), its
password is never checked, and it costs nothing more: the wait is bounded
by ``MAX_DELAY`` from the last failure that was checked.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import django_otp
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db import transaction
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.http import HttpRequest
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from ..browser import request_fingerprint
from ..client_ip import client_ip
from ..conf import conf
from ..cookie import Presented
from ..digests import keyed_digest
from ..models import PasswordThrottle
from ..rules import backoff, policy
from . import email_codes, events, identifiers, recognition, sign_in_history

logger = logging.getLogger(__name__)

ACCOUNT, ADDRESS = PasswordThrottle.ACCOUNT, PasswordThrottle.ADDRESS

# Wrong passwords for one account (known or not) before each further attempt
# waits: 1 s, then twice as long after each failure (docs/security.md R13).
FREE_FAILURES = 5
# The same from one client address (an IPv6 /64 is one address): many users
# may share one.
ADDRESS_FREE_FAILURES = 20
# The longest wait: nobody is locked out for good.
MAX_DELAY = timedelta(minutes=15)
# This many wrong passwords for one account within BURST_WINDOW: its next
# sign-in owes a code, even on a trusted device.
BURST = 10
BURST_WINDOW = timedelta(minutes=15)
# Set on the request by the backend: this attempt's budgets, and whether it
# was refused unchecked (then the ``user_login_failed`` that follows is not a
# failure to count). On the request, not an argument: the attempt crosses
# Django's ``authenticate()`` (the backend, then the ``user_login_failed`` or
# ``user_logged_in`` receivers, then ``admission.begin`` via
# ``password_checked``), which passes nothing else from one to the next.
_ATTEMPT = "_trustgate_password_attempt"


def account_key(user_pk: Any) -> str:
    """The one budget of an account's password, whichever of its names (and
    in whichever case or width) an attempt typed."""
    return keyed_digest("trust.password_throttle.account", str(user_pk))


def name_key(name: object) -> str:
    """The budget of an identifier that names no account: its normalized form
    (``backoff.account_name``), so its case and width variants share it.

    Keyed with SECRET_KEY: the table never holds what was typed, which is
    sometimes a password typed into the wrong field.
    """
    return keyed_digest("trust.password_throttle", backoff.account_name(name))


def keys_of(user: Any) -> set[str]:
    """The budgets ``user``'s failures are charged to: one key, the account's
    (``account_key``), whichever name was typed. ``trust.flows.risk_counts`` reads
    their bursts with this too."""
    return {account_key(user.pk)}


@dataclass(frozen=True)
class Budgets:
    """The account budgets one typed identifier spends."""

    keys: tuple[str, ...]
    user_ids: tuple[Any, ...]  # the accounts it names (none: an unknown name)


def budgets_named(identifier: object) -> Budgets:
    """The budgets of the accounts ``identifier`` names (``identifiers``), or
    of the name itself when it names none: one query either way.

    SECURITY: one account, one budget. The username, the e-mail addresses,
    and their case and width variants all spend the account's; an unknown
    name is counted by its normalized form, with the same queries and the
    same statements, so the work done does not tell whether it exists.
    """
    user_ids = tuple(identifiers.accounts_named(identifier))
    keys = tuple(account_key(pk) for pk in user_ids) or (name_key(identifier),)
    return Budgets(keys, user_ids)


@dataclass
class _Attempt:
    """What ``refuses()`` learnt about an attempt, for ``count_failure``."""

    identifier: object
    budgets: Budgets | None
    refused: bool
    pending: bool  # let through, its outcome not yet counted


def _budgets(request: HttpRequest | None, identifier: object) -> Budgets:
    """``budgets_named``, looked up once per attempt (``refuses()`` then
    ``count_failure`` for the same identifier)."""
    attempt = getattr(request, _ATTEMPT, None) if request is not None else None
    if (
        isinstance(attempt, _Attempt)
        and attempt.budgets is not None
        and attempt.identifier == identifier
    ):
        return attempt.budgets
    return budgets_named(identifier)


def typed_username(username: object, credentials: Mapping[str, Any]) -> object:
    """The account an ``authenticate()`` call names, whatever its keyword."""
    if username is not None:
        return username
    field = get_user_model().USERNAME_FIELD
    return credentials.get(field, credentials.get("email"))


def http_request(request: object) -> HttpRequest | None:
    """The HTTP request behind what ``authenticate()`` was given, or ``None``.

    Django hands ``request`` on untouched, to the backends and to the
    receivers of ``user_login_failed`` and ``user_logged_in``, whatever its
    caller passed: DRF's ``Request`` (it reads ``META`` from the request it
    wraps), a GraphQL context holding the request in ``.request``, or
    something else (Django's own tests give ``AuthenticationForm`` an
    ``object()``).
    SECURITY: the address throttle and the blocked networks read the client
    address from it, so a wrapper is unwrapped, never taken for no request.
    What carries no request at all is throttled as a shell's
    ``authenticate(None, ...)`` is, by its account, and logged: the site
    passes something no address can be read from.
    """
    if request is None or isinstance(request, HttpRequest):
        return request
    if isinstance(getattr(request, "META", None), dict):
        return request  # type: ignore[return-value]  # DRF's Request
    wrapped = getattr(request, "request", None)
    if isinstance(wrapped, HttpRequest):
        return wrapped
    _no_address_in(type(request).__qualname__)
    return None


@functools.cache
def _no_address_in(kind: str) -> None:
    """Said once per kind of object: a site's call, not an attacker's input."""
    logger.warning(
        "authenticate() was given a %s, not a request: its attempts are throttled by "
        "account only (no client address to throttle or block).",
        kind,
    )


def _address(request: HttpRequest | None) -> str | None:
    return backoff.address_bucket(client_ip(request)) if request is not None else None


def _free(scope: str) -> int:
    return FREE_FAILURES if scope == ACCOUNT else ADDRESS_FREE_FAILURES


def _count(row: PasswordThrottle) -> backoff.Count:
    return backoff.Count(row.failures, row.last_failure_at, row.probe_until)


# --- before the password is checked ------------------------------------------


def password_checked(request: HttpRequest | None) -> bool:
    """Did a password sign-in pass through ``refuses()`` (and so was checked)?"""
    attempt = _attempt_of(request)
    return attempt is not None and not attempt.refused


def _attempt_of(request: HttpRequest | None) -> _Attempt | None:
    attempt = getattr(request, _ATTEMPT, None) if request is not None else None
    return attempt if isinstance(attempt, _Attempt) else None


def address_blocked(request: HttpRequest | None) -> bool:
    """Is the client address in the site's block list (``TRUST_RISK_BLOCKED_NETWORKS``)?

    Asked here, before the password is checked, so a blocked address learns
    nothing; the risk model's decision holds the same rule for shadow mode.
    """
    if request is None or not conf.RISK_ENABLED or conf.RISK_SHADOW:
        # Shadow mode: the sign-in goes on to be weighed, where the block
        # list's deny is recorded as what would have happened.
        return False
    block_list = conf.RISK_BLOCKED_NETWORKS
    return bool(block_list) and request_fingerprint(request).ip in block_list


def refuses(request: HttpRequest | None, username: object) -> bool:
    """Must this attempt be refused without checking its password?"""
    request = http_request(request)
    earlier = _attempt_of(request)
    if earlier is not None and earlier.pending and earlier.identifier == username:
        # A throttle listed before this one let this very attempt through
        # (and took its turn): asking again would only queue behind itself.
        return False
    budgets = budgets_named(username) if username is not None else None
    if address_blocked(request):
        # SECURITY: the site blocks this address: refused like a wrong
        # password, before the password is checked, and never counted.
        _remember(request, username, budgets, refused=True)
        for user_id in budgets.user_ids if budgets is not None else ():
            sign_in_history.record_blocked(request, user_id)
        return True
    refused = _refuses(request, budgets)
    _remember(request, username, budgets, refused=refused)
    return refused


def _remember(
    request: HttpRequest | None, identifier: object, budgets: Budgets | None, *, refused: bool
) -> None:
    if request is not None:
        setattr(request, _ATTEMPT, _Attempt(identifier, budgets, refused, pending=not refused))


def _refuses(request: HttpRequest | None, budgets: Budgets | None) -> bool:
    now = timezone.now()
    wanted = Q(pk__in=[])  # matches nothing: the budgets below are or-ed in
    if budgets is not None:
        wanted |= Q(scope=ACCOUNT, key__in=budgets.keys)
    address = _address(request)
    if address is not None:
        wanted |= Q(scope=ADDRESS, key=address)
    held: list[PasswordThrottle] = []
    trusted: set[str] | None = None
    for row in PasswordThrottle.objects.filter(wanted).order_by("pk"):
        # Only an account that holds attempts back asks whether this browser
        # is one its owner trusted (the cookie's devices cost a query).
        if row.scope == ACCOUNT and (
            _count(row).backing_off(now, free=_free(ACCOUNT)) or row.probe_until
        ):
            if trusted is None:
                trusted = _trusted_keys(request)
            if row.key in trusted:
                continue
        held.append(row)
    for row in held:
        if _count(row).waits_until(now, free=_free(row.scope), max_delay=MAX_DELAY):
            return True
    return not _take_turns(held, now)


def _take_turns(rows: list[PasswordThrottle], now: datetime) -> bool:
    """Past the free allowance, one attempt at a time: each budget lets one
    in (compare-and-swap) and holds the others until its outcome is known.

    SECURITY: otherwise a flood of parallel guesses sent the moment a wait
    ends would all be checked before the first failure is counted.
    """
    taken: list[tuple[PasswordThrottle, datetime]] = []
    for row in rows:
        count = _count(row)
        free = _free(row.scope)
        if not count.backing_off(now, free=free):
            continue
        until = now + backoff.delay(count.current(now) + 1, free=free, max_delay=MAX_DELAY)
        won = (
            PasswordThrottle.objects.filter(
                pk=row.pk, failures=row.failures, last_failure_at=row.last_failure_at
            )
            .filter(Q(probe_until__isnull=True) | Q(probe_until__lte=now))
            .update(probe_until=until)
        )
        if not won:
            for mine, when in taken:
                PasswordThrottle.objects.filter(pk=mine.pk, probe_until=when).update(
                    probe_until=None
                )
            return False
        taken.append((row, until))
    return True


@sensitive_variables()
def _trusted_keys(request: HttpRequest | None) -> set[str]:
    """The budgets of the accounts this browser holds live trust of.

    SECURITY: OWASP's "device cookies": whoever keeps guessing a victim's
    password (and so keeps the account's budget spent) must not lock the
    victim out of the browsers they trusted. Such a browser is held by its
    address's budget only; its failures still count, and a burst of them
    still makes the next sign-in owe a code.
    """
    if request is None:
        return set()
    presented = Presented.read(request)
    if not presented.secrets:
        return set()
    fp = request_fingerprint(request)
    now = timezone.now()
    return {
        account_key(device.user_id)
        for device in presented.secrets.values()
        if recognition.assess(device, fp, now, request).recognized
        and recognition.authenticator_lives(device)
    }


# --- after it was checked -----------------------------------------------------


def count_failure(
    sender: Any, credentials: Mapping[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """Receiver of ``user_login_failed``: one more failure for the accounts
    named (or the unknown name) and for the client address."""
    if "password" not in credentials:
        return  # not a password sign-in (a remote user, a token): not ours
    request = http_request(request)
    attempt = _attempt_of(request)
    if attempt is not None:
        attempt.pending = False
        if attempt.refused:
            return  # refused unchecked: nothing was learnt, nothing is counted
    now = timezone.now()
    username = typed_username(None, credentials)
    if username is not None:
        budgets = _budgets(request, username)
        _charge(ACCOUNT, budgets.keys, now, user_ids=budgets.user_ids)
        # SECURITY (timing): a name that is no account's does the same work;
        # only the account's history row is not written. Each sample of that
        # difference costs the attacker a counted failure, at the throttle's pace.
        for user_id in budgets.user_ids or (None,):
            sign_in_history.record_failed_password(request, user_id)
    address = _address(request)
    if address is not None:
        _charge(ADDRESS, (address,), now)


def _charge(
    scope: str, keys: tuple[str, ...], now: datetime, *, user_ids: tuple[Any, ...] = ()
) -> None:
    """Count one failure against each of ``keys``: atomic increments, whoever
    else counts meanwhile. ``user_ids``: the account of each key (the admin's)."""
    owners = dict(zip(keys, user_ids, strict=False))
    with transaction.atomic():
        PasswordThrottle.objects.bulk_create(
            [
                PasswordThrottle(
                    scope=scope, key=key, user_id=owners.get(key), failures=0, last_failure_at=now
                )
                for key in keys
            ],
            ignore_conflicts=True,
        )
        forgotten = Q(last_failure_at__lte=now - backoff.FORGET_AFTER)
        rows = PasswordThrottle.objects.filter(scope=scope, key__in=keys)
        # Holds the rows' locks until the block ends.
        rows.update(
            failures=Case(When(forgotten, then=Value(1)), default=F("failures") + 1),
            last_failure_at=now,
            probe_until=None,
        )
        if scope == ACCOUNT:
            for row in rows.select_for_update().order_by("pk"):
                _note_burst(row, now)


def _note_burst(row: PasswordThrottle, now: datetime) -> None:
    """Keep the times of the latest failures; enough of them within the
    window is a burst. Read and written under the row lock ``_charge`` took."""
    burst, window = BURST, BURST_WINDOW.total_seconds()
    stamp = now.timestamp()
    # Parallel failures take the lock in any order: keep the ones newer than
    # this one's own time too, and drop only what left the window.
    recent = [t for t in row.recent if isinstance(t, int | float) and stamp - t < window]
    row.recent = sorted([*recent, stamp])[-max(burst, 1) :]
    fields = ["recent"]
    if len(row.recent) >= burst:
        row.burst_at = now
        fields.append("burst_at")
    row.save(update_fields=fields)


def clear_on_sign_in(
    sender: Any, request: HttpRequest | None = None, user: Any = None, **kwargs: Any
) -> None:
    """Receiver of ``user_logged_in``: the account's own failures are forgotten.

    SECURITY: the address's are not. Someone signing in to their own account
    must not buy more guesses at others' from the same address (allauth's
    65.8.1 advisory). Only the turn this attempt held there is given back.
    """
    if user is None:
        return
    request = http_request(request)
    now = timezone.now()
    keys = keys_of(user)
    _report_burst(request, user, keys, now)
    PasswordThrottle.objects.filter(scope=ACCOUNT, key__in=keys).update(
        failures=0, probe_until=None, recent=[]
    )
    address = _address(request)
    if address is not None:
        PasswordThrottle.objects.filter(
            scope=ADDRESS, key=address, probe_until__isnull=False
        ).update(probe_until=None)


def _report_burst(request: HttpRequest | None, user: Any, keys: set[str], now: datetime) -> None:
    """The first sign-in after a burst is a security event (and the site's
    alert): whoever signs in may be the one who guessed. Once per burst."""
    reported = (
        PasswordThrottle.objects.filter(scope=ACCOUNT, key__in=keys, burst_at__isnull=False)
        .filter(Q(burst_reported_at__isnull=True) | Q(burst_reported_at__lt=F("burst_at")))
        .update(burst_reported_at=now)
    )
    if reported:
        events.record(
            user, events.PASSWORD_FAILURES, request=request, reasons=[policy.PASSWORD_FAILURES]
        )


# --- the sign-in decision ------------------------------------------------------


def burst_unpaid(user: Any) -> bool:
    """Has a burst of wrong passwords hit ``user`` since their last code?

    SECURITY: then a sign-in owes a code, even on a trusted browser, until
    one is entered (``trust.rules.sign_in``): a trusted browser makes the
    password the only factor, and a burst means someone is guessing it.
    """
    return unpaid(user, bursts_of(user).values_list("burst_at", flat=True))


def bursts_of(user: Any) -> QuerySet[PasswordThrottle]:
    """The budgets of ``user``'s names that a burst hit (at most one a name;
    ``trust.flows.risk_counts.DbCounts`` reads them for each weighed sign-in)."""
    return PasswordThrottle.objects.filter(
        scope=ACCOUNT, key__in=keys_of(user), burst_at__isnull=False
    )


def unpaid(user: Any, bursts: Iterable[datetime | None]) -> bool:
    """Is the latest of ``bursts`` (``bursts_of``'s times) not yet paid for
    by a code? Without a burst, this reads nothing more."""
    latest = max((when for when in bursts if when is not None), default=None)
    return latest is not None and not _code_entered_since(user, latest)


def _code_entered_since(user: Any, when: datetime) -> bool:
    """Has any of the user's second factors accepted a code since ``when``?"""
    # Confirmed factors, and the e-mailed sign-in code of a user without 2FA
    # (trust.flows.email_codes: unconfirmed on purpose, a code all the same).
    devices = [
        device
        for device in django_otp.devices_for_user(user, confirmed=None)
        if device.confirmed or getattr(device, "name", "") == email_codes.DEVICE_NAME
    ]
    for device in devices:
        used = getattr(device, "last_used_at", None)  # django-otp's TimestampMixin
        if used is not None and used >= when:
            return True
    return False


# --- administration -------------------------------------------------------------


def lift(*, username: str | None = None, address: str | None = None) -> int:
    """Forget the failures of an account (named by any of its names) or of an
    unknown name, or of an address."""
    wanted = Q(pk__in=[])
    if username is not None:
        keys = {*budgets_named(username).keys, name_key(username)}
        wanted |= Q(scope=ACCOUNT, key__in=keys)
    if address is not None:
        wanted |= Q(scope=ADDRESS, key=backoff.address_bucket(address))
    deleted, _ = PasswordThrottle.objects.filter(wanted).delete()
    return deleted


def prune(now: datetime | None = None) -> int:
    """Drop rows whose failures are forgotten and whose burst no trust outlives."""
    now = now or timezone.now()
    deleted, _ = (
        PasswordThrottle.objects.filter(last_failure_at__lte=now - backoff.FORGET_AFTER)
        .filter(Q(burst_at__isnull=True) | Q(burst_at__lte=now - conf.LIFETIME))
        .delete()
    )
    return deleted


def connect() -> None:
    """Connect the receivers (from ``TrustConfig.ready()``)."""
    user_login_failed.connect(count_failure, dispatch_uid="trust.flows.password_throttle.count")
    user_logged_in.connect(clear_on_sign_in, dispatch_uid="trust.flows.password_throttle.clear")
