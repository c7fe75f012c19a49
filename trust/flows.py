"""Trust flows: after a code, trust a device; revoke one or all.

With ``trust.admission`` (deciding a sign-in), the only code of the app that
touches sessions, cookies, the security log and the database together;
views call into it.
"""

from __future__ import annotations

import time
from typing import Any

import django_otp
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest
from django.middleware.csrf import rotate_token
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from django_otp.models import Device

from . import events, sessions, tokens
from .conf import conf
from .fingerprint import clean_user_agent
from .models import EventKind, SupersededToken, TrustedDevice, TrustedSession
from .presented import Presented, queue_cookie, raw_user_agent, request_fingerprint
from .state import NO_DEVICE, OTP, SessionState, agent_digest

# --- after a code ----------------------------------------------------------


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
    user = request.user
    old_key = request.session.session_key or ""
    django_otp.login(request, otp_device)
    # SECURITY: a new privilege level gets a new session key and CSRF token;
    # django_otp.login() rotates neither.
    request.session.cycle_key()
    rotate_token(request)
    state = SessionState.load(request.session)
    if state is None or state.uid != str(user.pk):
        state = SessionState(uid=str(user.pk), status=OTP, signed_in_at=time.time())
        fp = request_fingerprint(request)
        state.agent_digest = agent_digest(raw_user_agent(request))
        state.browser, state.os = fp.agent.browser, fp.agent.os
        state.device_class = fp.agent.device_class
    state.status, state.otp_device, state.otp_at = OTP, otp_device.persistent_id, time.time()
    state.pending_since, state.reasons, state.must_enroll = None, [], False
    state.phishing_resistant = phishing_resistant
    state.passwordless = state.passwordless or passwordless
    trusted = None
    if state.trusted_device:
        trusted = TrustedDevice.objects.filter(pk=state.trusted_device).first()
    state.session_key = sessions.link(
        request, user, trusted, old_key or state.session_key, otp_device=state.otp_device
    )
    state.save(request.session)
    return state


@sensitive_variables()
def trust_device(request: HttpRequest, otp_device: Device) -> TrustedDevice | None:
    """Trust the browser of ``request`` for its user, after a code just passed.

    A device this browser already held for the user is replaced, so a code
    entered after a fingerprint mismatch re-trusts with the new fingerprint.
    An agent that says nothing about itself is never trusted (``None``): it
    would match any other such agent.
    """
    user: Any = request.user  # signed in: the caller passed a code
    fp = request_fingerprint(request)
    if not fp.agent.known:
        return None
    presented = Presented.read(request)
    old_secret, old = presented.for_user(user)
    secret = tokens.new_secret()
    now = timezone.now()
    with transaction.atomic():
        if old is not None and old.revoked_at is None:
            _revoke_one(old, reason="replaced", request=request, end_sessions=False)
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
            created_at=now,
            last_seen_at=now,
            expires_at=now + conf.LIFETIME,
        )
        events.record(user, events.DEVICE_TRUSTED, request=request, device=device)
    state = SessionState.load(request.session)
    if state is not None:
        state.trusted_device, state.touched_at = device.pk, time.time()
        state.session_key = sessions.link(
            request, user, device, state.session_key, otp_device=state.otp_device
        )
        state.save(request.session)
    queue_cookie(request, presented, drop=old_secret, add=(secret, device))
    return device


def _stored_ua_length() -> int:
    # SECURITY: never more than the column holds, whatever the setting says:
    # PostgreSQL would refuse the row (a 500) rather than cut it (docs/security.md R33).
    column = TrustedDevice._meta.get_field("user_agent").max_length or 0
    return min(conf.USER_AGENT_MAX_LENGTH, column)


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
    for device in active[max(conf.MAX_DEVICES - 1, 0) :]:
        _revoke_one(device, reason="evicted", request=request)


# --- revoking --------------------------------------------------------------


def _revoke_one(
    device: TrustedDevice,
    *,
    reason: str,
    request: HttpRequest | None,
    end_sessions: bool = True,
    keep_session: str | None = None,
) -> bool:
    now = timezone.now()
    revoked = TrustedDevice.objects.filter(pk=device.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_reason=reason
    )
    if not revoked:
        return False
    device.revoked_at, device.revoked_reason = now, reason
    # A revoked device's old secrets are worth nothing: its current secret
    # alone still tells a revoked device's cookie when it comes back.
    SupersededToken.objects.filter(device=device).delete()
    if end_sessions:
        sessions.end_device_sessions(device, keep=keep_session)
    events.record_for_device(
        device.user, events.DEVICE_REVOKED, device, request=request, reasons=[reason]
    )
    return True


def revoke(device: TrustedDevice, *, reason: str, request: HttpRequest | None = None) -> bool:
    """Revoke ``device`` and end the sessions it let in, before returning."""
    with transaction.atomic():
        return _revoke_one(device, reason=reason, request=request)


def revoke_all(
    user: Any,
    *,
    reason: str,
    request: HttpRequest | None = None,
    except_device: int | None = None,
) -> int:
    """Revoke every live trusted device of ``user`` (but ``except_device``)."""
    keep = request.session.session_key if request is not None else None
    count = 0
    with transaction.atomic():
        devices = TrustedDevice.objects.filter(user=user, revoked_at__isnull=True)
        if except_device is not None:
            devices = devices.exclude(pk=except_device)
        for device in devices.select_for_update():
            count += _revoke_one(device, reason=reason, request=request, keep_session=keep)
    return count


def current_device_id(request: HttpRequest) -> int | None:
    """The trusted device of ``request.user`` this browser holds, if any."""
    state = SessionState.load(request.session)
    if state is not None and state.trusted_device:
        return state.trusted_device
    _secret, device = Presented.read(request).for_user(request.user)
    if device is not None and device.revoked_at is None:
        return device.pk
    return None


def end_other_sessions(request: HttpRequest) -> int:
    """End every session of ``request.user`` but this one."""
    return sessions.end_user_sessions(request.user, keep=request.session.session_key)


def second_factor_removed(request: HttpRequest) -> None:
    """This session's user has no second factor any more (2FA turned off here).

    The session goes on as one that owes no code, keeping its sign-in time,
    so its absolute lifetime is not restarted.
    """
    request.session.pop(django_otp.DEVICE_ID_SESSION_KEY, None)
    state = SessionState.load(request.session)
    if state is None:
        return
    state.status, state.otp_device, state.otp_at = NO_DEVICE, "", None
    state.trusted_device, state.reasons = None, []
    state.session_key = sessions.link(
        request, request.user, None, state.session_key, password_only=True
    )
    state.save(request.session)


def password_changed(
    user: Any,
    *,
    request: HttpRequest | None = None,
    reset: bool = False,
    keep: str | None = None,
) -> None:
    """``user`` has a new password: all trust ends, every session but ``keep``.

    SECURITY: trust is bound to the credentials (docs/security.md). Called
    by the user model's post_save receiver; call it yourself after a
    ``QuerySet.update(password=...)``, which sends no signal.
    """
    kind = EventKind.PASSWORD_RESET if reset else EventKind.PASSWORD_CHANGED
    revoke_all(user, reason=str(kind))
    sessions.end_user_sessions(user, keep=keep)
    events.record(user, kind, request=request)


def end_reported_session(record: TrustedSession, *, request: HttpRequest | None = None) -> bool:
    """Its user says a session was not theirs: it ends now (once)."""
    ended = sessions.end(TrustedSession.objects.filter(pk=record.pk))
    if ended:
        events.record(
            record.user,
            events.SESSION_REPORTED,
            request=request,
            reasons=["reported_by_user"],
        )
    return bool(ended)
