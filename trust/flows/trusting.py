"""After a code: the session is verified, and its browser may be trusted.

And when the second factor goes away in this session, what it verified goes
with it. Views call these; revoking trust is ``trust.flows.revoking``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import django_otp
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest
from django.middleware.csrf import rotate_token
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from django_otp.models import Device

from .. import dbsc
from ..browser import raw_user_agent, request_fingerprint
from ..conf import conf
from ..cookie import Presented, queue_cookie
from ..models import TrustedDevice
from ..rules import tokens
from ..rules.fingerprint import MAX_USER_AGENT_LENGTH, clean_user_agent
from ..rules.risk import geo
from ..state import SessionState
from . import device_origins, events, revoking, risk, sessions, sign_in_history

# Trusted devices per user; trusting one more evicts the least recently used.
MAX_DEVICES = 20

# --- after a code ----------------------------------------------------------


def email_code_passed(request: HttpRequest) -> SessionState | None:
    """A user without 2FA gave the code e-mailed for a risky sign-in.

    The session goes on password-only (an e-mailed code is no second
    factor), under a new key and CSRF token, and the sign-in is counted.
    """
    state = SessionState.of(request)
    if state is None or not state.email_code or not state.pending:
        return state
    old_key = request.session.session_key or ""
    request.session.cycle_key()
    rotate_token(request)
    attempt = state.attempt
    state.email_code_passed()
    state.attempt = None
    sessions.link(request, request.user, state, old_key=old_key or None)
    state.save(request)
    risk.passed(request, request.user, attempt)
    return state


def mark_verified(
    request: HttpRequest,
    otp_device: Device,
    *,
    phishing_resistant: bool = False,
    passwordless: bool = False,
) -> SessionState:
    """The session's user just entered a valid code from ``otp_device``.

    ``phishing_resistant``: the factor was a passkey (``request.trust`` says
    so); ``passwordless``: it signed the session in alone, with no password.
    """
    return code_passed(
        request, otp_device, phishing_resistant=phishing_resistant, passwordless=passwordless
    )


@sensitive_variables()
def code_passed(
    request: HttpRequest,
    otp_device: Device,
    *,
    trust_browser: bool = False,
    phishing_resistant: bool = False,
    passwordless: bool = False,
) -> SessionState:
    """A code (or passkey) from ``otp_device`` passed: one transition of the record.

    The session is verified and, with ``trust_browser``, its browser trusted
    (``trust_device``); the record is then linked under the new session key
    and saved, once each.
    """
    user = request.user
    old_key = request.session.session_key or ""
    django_otp.login(request, otp_device)
    # SECURITY: a new privilege level gets a new session key and CSRF token;
    # django_otp.login() rotates neither.
    request.session.cycle_key()
    rotate_token(request)
    state = SessionState.of(request)
    if state is None or state.uid != str(user.pk):
        state = SessionState.signing_in(user, request_fingerprint(request), raw_user_agent(request))
    elif state.session_key:
        # The key the session's index entry is under, if a view rotated the
        # key before this (django-otp's LoginView signs in again first).
        old_key = state.session_key
    attempt = state.attempt if state.pending else None
    state.verified_by(
        otp_device.persistent_id,
        phishing_resistant=phishing_resistant,
        passwordless=passwordless,
    )
    state.attempt = None
    trusted = _trust_browser(request, otp_device) if trust_browser else None
    if trusted is not None:
        state.holds_device(trusted.device.pk)
    sessions.link(request, user, state, old_key=old_key or None)
    # A sign-in the risk model weighed succeeded only now: it is counted (after
    # the session is indexed, so its alert's "this wasn't me" link can end it).
    risk.passed(request, user, attempt)
    state.save(request)
    if trusted is not None:
        trusted.hand_over(request, user)
    return state


def verified_elsewhere(request: HttpRequest, otp_device: Device) -> SessionState:
    """``django_otp.login()`` verified this session outside Trustgate's code page.

    django-otp's own ``LoginView``, or a site's page that checked a code its
    own way: the code counts as one given on Trustgate's page, with the same
    event and the same new session key and CSRF token (``mark_verified``).
    The caller checked that ``otp_device`` is a confirmed device of the
    session's user.
    """
    events.record(request.user, events.STEP_UP_PASSED, request=request)
    return mark_verified(request, otp_device)


@sensitive_variables()
def trust_device(request: HttpRequest, otp_device: Device) -> TrustedDevice | None:
    """Trust the browser of ``request`` for its user, after a code just passed.

    A device this browser already held for the user is replaced, so a code
    entered after a fingerprint mismatch re-trusts with the new fingerprint.
    An agent that says nothing about itself is never trusted (``None``): it
    would match any other such agent. A code passed on the code page trusts
    through ``code_passed``, which saves the record once.
    """
    user: Any = request.user  # signed in: the caller passed a code
    trusted = _trust_browser(request, otp_device)
    if trusted is None:
        return None
    state = SessionState.of(request)
    if state is not None:
        state.holds_device(trusted.device.pk)
        sessions.link(request, user, state)
        state.save(request)
    trusted.hand_over(request, user)
    return trusted.device


@dataclass(frozen=True)
class _Trusted:
    """A browser just trusted: the row, and the cookie change still to send."""

    device: TrustedDevice
    presented: Presented
    old_secret: str | None
    secret: str

    def hand_over(self, request: HttpRequest, user: Any) -> None:
        """Once the session is indexed: tie its sign-in to the device, queue the cookie."""
        # A report about this device reaches the sign-in that trusted it.
        sign_in_history.tie_to_device(request, user, self.device)
        queue_cookie(request, self.presented, drop=self.old_secret, add=(self.secret, self.device))
        # A browser that supports DBSC binds the new trust to a key of its own.
        dbsc.offer(request, self.device)


@sensitive_variables()
def _trust_browser(request: HttpRequest, otp_device: Device) -> _Trusted | None:
    """The trusted device row for ``request``'s browser; the record is the caller's."""
    user: Any = request.user
    fp = request_fingerprint(request)
    if not fp.agent.known:
        return None
    presented = Presented.read(request)
    old_secret, old = presented.for_user(user)
    secret = tokens.new_secret()
    now = timezone.now()
    # A browser trusted anew keeps the countries and operators its live
    # trust was used in.
    live = old if old is not None and old.revoked_at is None else None
    carried = live.countries if live is not None else ""
    carried_asns = live.asns if live is not None else ""
    with transaction.atomic():
        if old is not None and old.revoked_at is None:
            revoking.revoke_one(old, reason="replaced", request=request, end_sessions=False)
        _evict_over_cap(user, request)
        device = TrustedDevice.objects.create(
            user=user,
            token_hash=tokens.hash_secret(secret),
            otp_device=otp_device.persistent_id,
            browser=fp.agent.browser,
            os=fp.agent.os,
            device_class=fp.agent.device_class,
            user_agent=clean_user_agent(request.META.get("HTTP_USER_AGENT"), _stored_ua_length()),
            network=fp.network,
            first_ip=fp.ip or None,
            last_ip=fp.ip or None,
            countries=device_origins.with_country(carried, geo.country_of(fp.ip)),
            asns=device_origins.with_asn(carried_asns, geo.asn_of(fp.ip)),
            created_at=now,
            last_seen_at=now,
            expires_at=now + conf.LIFETIME,
        )
        events.record(user, events.DEVICE_TRUSTED, request=request, device=device)
    return _Trusted(device, presented, old_secret, secret)


def _stored_ua_length() -> int:
    # SECURITY: never more than the column holds, whatever the setting says:
    # PostgreSQL would refuse the row (a 500) rather than cut it (docs/security.md R33).
    column = TrustedDevice._meta.get_field("user_agent").max_length or 0
    return min(MAX_USER_AGENT_LENGTH, column)


def _evict_over_cap(user: Any, request: HttpRequest | None) -> None:
    """Make room for one more device: revoke the least recently used.

    Runs in the transaction that then adds the device.
    """
    # SECURITY: the user's row is the lock that makes count-then-add atomic:
    # locking the devices alone lets two trusts racing each see room for one
    # more (a row the other inserts is not among the rows it locked).
    get_user_model()._default_manager.select_for_update().filter(pk=user.pk).values_list(
        "pk", flat=True
    ).first()
    active = list(
        TrustedDevice.objects.active()
        .filter(user=user)
        .select_for_update()
        .order_by("-last_seen_at", "-pk")
    )
    for device in active[MAX_DEVICES - 1 :]:
        revoking.revoke_one(device, reason="evicted", request=request)


def current_device_id(request: HttpRequest) -> int | None:
    """The trusted device of ``request.user`` this browser holds, if any."""
    state = SessionState.of(request)
    if state is not None and state.trusted_device:
        return state.trusted_device
    _secret, device = Presented.read(request).for_user(request.user)
    if device is not None and device.revoked_at is None:
        return device.pk
    return None


def second_factor_removed(request: HttpRequest) -> None:
    """This session's user has no second factor any more (2FA turned off here).

    The session goes on as one that owes no code, keeping its sign-in time,
    so its absolute lifetime is not restarted.
    """
    request.session.pop(django_otp.DEVICE_ID_SESSION_KEY, None)
    state = SessionState.of(request)
    if state is None:
        return
    state.factor_removed()
    sessions.link(request, request.user, state)
    state.save(request)
