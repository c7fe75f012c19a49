"""Deciding a sign-in: no second factor, a trusted device, or a code owed.

The middleware calls ``begin()`` once per sign-in and keeps the outcome in
the session (``trust.state``); the other functions here keep that decision
honest while the session lives (a changed user agent, trust that lapsed, a
rotated session key).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import django_otp
from django.contrib import auth
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from .. import otp_compat
from ..browser import raw_user_agent, request_fingerprint
from ..client_ip import client_ip
from ..conf import conf
from ..cookie import Presented, queue_cookie
from ..models import EventKind, SignInOutcome, SupersededToken, TrustedDevice
from ..rules import policy, tokens
from ..rules import sign_in as rules
from ..rules.fingerprint import Fingerprint
from ..state import SessionState, agent_digest
from . import (
    email_codes,
    events,
    password_throttle,
    recognition,
    revoking,
    risk,
    rotation,
    sessions,
)
from .rotation import session_digest

# How often a session let in by trust refreshes its device's "last seen" and
# checks that the trust it rests on still holds: its only query after sign-in.
TOUCH_INTERVAL = timedelta(hours=1)


@dataclass
class SignIn:
    """One sign-in while ``begin`` decides it: what each step hands the next,
    passed as an argument rather than kept on the request.

    (The password throttle's record of the attempt stays on the request:
    it crosses Django's ``authenticate()``, which has no other channel.)
    """

    request: HttpRequest
    user: Any
    fp: Fingerprint
    state: SessionState
    # One clock reading for the whole decision: the device policy and the
    # effects it asks for must agree on whether the trust had expired.
    now: datetime = field(default_factory=timezone.now)
    # Recognition: the trusted-browser secret presented, its device, and the
    # device policy's word on it.
    presented: Presented | None = None
    secret: str | None = None
    device: TrustedDevice | None = None
    recognition: policy.Assessment | None = None
    # django-otp's device, when the session was verified before the gate saw it.
    verified: Any = None
    # The risk model's view of a password sign-in (``None``: not weighed).
    weighed: risk.Weighed | None = None


@sensitive_variables()
def begin(request: HttpRequest, user: Any) -> SessionState:
    """Decide a freshly signed-in session: no 2FA, trusted browser, code owed or refused.

    One pipeline: recognition (the trusted-browser cookie), the risk model,
    one pure ruling on both (``trust.rules.sign_in.decide``), then its
    effects (the session record, the cookie, revocations, events, history).
    """
    fp = request_fingerprint(request)
    state = SessionState.signing_in(user, fp, raw_user_agent(request))
    sign_in = SignIn(request, user, fp, state)
    # One transaction from the trust decision to the session's index entry:
    # a revoke running meanwhile waits on the device row, then finds this
    # session to end (otherwise it could slip in between and miss it).
    with transaction.atomic():
        ruling = _rule(sign_in)
        if ruling is not None:  # None: the rotation protocol decided (``_stale``)
            _apply(sign_in, ruling)
        if not state.refused:
            sessions.link(request, user, state, old_key="")
        _record(sign_in)
    if state.refused:
        # SECURITY: the password was right but the sign-in is refused: the
        # session ends now, before anything is answered with it.
        auth.logout(request)
        return state
    state.save(request)
    return state


def _rule(sign_in: SignIn) -> rules.Ruling | None:
    """Gather what the ruling reads, then rule (``None``: a superseded
    secret came back, and the rotation protocol decided the sign-in)."""
    request, user = sign_in.request, sign_in.user
    if not django_otp.user_has_device(user):
        required = conf.ENROLLMENT_REQUIRED
        sign_in.state.must_enroll = bool(required and required(user))
        found = sign_in.weighed = risk.weigh(request, user, trusted_device=False, fp=sign_in.fp)
        return rules.decide(
            has_factor=False,
            risk_decision=found.decision if found is not None else None,
            email_reachable=email_codes.reachable(user),
            refuse_unreachable=conf.RISK_NO_EMAIL == "deny",
        )
    sign_in.verified = otp_compat.device_in_session(request, user)
    if sign_in.verified is not None:
        return rules.decide(has_factor=True, verified=True)
    if not _recognize(sign_in):
        return None
    recognition = sign_in.recognition
    assert recognition is not None
    found = sign_in.weighed = risk.weigh(
        request,
        user,
        trusted_device=recognition.recognized,
        fp=sign_in.fp,
        device=sign_in.device if recognition.recognized else None,
    )
    return rules.decide(
        has_factor=True,
        recognition=recognition,
        risk_decision=found.decision if found is not None else None,
        # The model counts a burst itself; without it, the burst is read here.
        burst_unpaid=found is None and password_throttle.burst_unpaid(user),
    )


@sensitive_variables()
def _recognize(sign_in: SignIn) -> bool:
    """The trusted-browser cookie: which device, and may it stand in for a code?

    ``False`` when the secret presented is one a rotation replaced: that is
    the rotation protocol's to decide (``_stale``), not the ruling's.
    """
    request, user = sign_in.request, sign_in.user
    presented = sign_in.presented = Presented.read(request)
    secret, device = presented.for_user(user)
    if device is None:
        stale_secret, stale = presented.stale_for_user(user)
        if stale_secret is not None and stale is not None:
            _stale(request, user, sign_in.state, presented, stale_secret, stale, sign_in.fp)
            return False
    assessment = recognition.assess(device, sign_in.fp, sign_in.now, request)
    if assessment.recognized and device is not None and not recognition.authenticator_lives(device):
        # SECURITY: trust is bound to the factor that created it; that one
        # is gone (removed or replaced), so this trust goes too (``_apply``).
        assessment = policy.Assessment(False, (policy.AUTHENTICATOR_REMOVED,))
    sign_in.secret, sign_in.device, sign_in.recognition = secret, device, assessment
    return True


@sensitive_variables()
def _apply(sign_in: SignIn, ruling: rules.Ruling) -> None:
    """The ruling's effects: the session record, the cookie, events."""
    request, user, state = sign_in.request, sign_in.user, sign_in.state
    reasons = list(ruling.reasons)
    if sign_in.recognition is not None:
        _after_recognition(sign_in)
    match ruling.outcome:
        case rules.Outcome.VERIFIED:
            state.verified_by(sign_in.verified.persistent_id)
        case rules.Outcome.TRUSTED:
            assert sign_in.presented and sign_in.secret and sign_in.device
            _admit(
                request,
                user,
                state,
                sign_in.presented,
                sign_in.secret,
                sign_in.device,
                sign_in.fp,
                reasons,
            )
        case rules.Outcome.OWES_CODE:
            state.owe_code(reasons)
        case rules.Outcome.OWES_EMAIL_CODE:
            email_codes.send(user)
            state.owe_email_code(reasons)
        case rules.Outcome.UNCHECKED:
            # No address on file: let in (the site's choice), and say so.
            events.record(user, EventKind.RISKY_SIGN_IN_UNCHECKED, request=request, reasons=reasons)
        case rules.Outcome.REFUSED:
            state.refuse(reasons)


def _after_recognition(sign_in: SignIn) -> None:
    """What the device policy's reasons ask for, whatever the ruling: a copied
    cookie revoked, a dead secret out of the cookie, a trust whose factor is gone."""
    request, user, device = sign_in.request, sign_in.user, sign_in.device
    assert sign_in.recognition is not None
    reasons = sign_in.recognition.reasons
    if device is None:
        return
    if policy.FINGERPRINT_MISMATCH in reasons:
        # SECURITY: a live secret from another kind of browser: the cookie was
        # copied. The device is revoked (its sessions end), so the copy cannot
        # try again with another user agent until one fits; a code from this
        # browser re-trusts it with its own fingerprint.
        revoking.revoke(device, reason=policy.FINGERPRINT_MISMATCH, request=request)
        events.record_for_device(
            user, events.SUSPICIOUS_COOKIE, device, request=request, reasons=reasons
        )
    dead = device.revoked_at is not None or device.expires_at <= sign_in.now
    if sign_in.secret is not None and sign_in.presented is not None and dead:
        # A revoked or expired device's secret: trust is over, the secret
        # leaves the cookie, and the user's log says it was tried.
        events.record_for_device(
            user, EventKind.TRUST_REFUSED, device, request=request, reasons=reasons
        )
        SupersededToken.objects.filter(device=device).delete()
        queue_cookie(request, sign_in.presented, drop=sign_in.secret)
    if policy.AUTHENTICATOR_REMOVED in reasons:
        revoking.revoke(device, reason=policy.AUTHENTICATOR_REMOVED, request=request)


def _record(sign_in: SignIn) -> None:
    """The sign-in's history row, when it was weighed; counted now when it was let in."""
    state, found = sign_in.state, sign_in.weighed
    if found is None:
        return
    if state.refused:
        outcome = SignInOutcome.DENIED
    elif state.pending:
        outcome = SignInOutcome.STEPPED_UP
    else:
        outcome = SignInOutcome.ALLOWED
    attempt = risk.decided(sign_in.request, sign_in.user, found, outcome, state.reasons)
    if outcome == SignInOutcome.STEPPED_UP:
        state.attempt = attempt.pk


@sensitive_variables()
def _stale(
    request: HttpRequest,
    user: Any,
    state: SessionState,
    presented: Presented,
    secret: str,
    record: SupersededToken,
    fp: Fingerprint,
) -> TrustedDevice | None:
    """A secret a rotation replaced came back: a double submit, or a copy.

    The browser that rotated it, sending the same sign-in again within
    seconds, gets in on the secret the rotation gave it (``rotation``).
    SECURITY: anything else means two browsers hold one device: either the
    legitimate browser or a copy of its cookie signed in since the copy was
    made; the server cannot tell which one this is, so the device is revoked
    (ending the sessions it let in, the thief's included) and this sign-in
    owes a code. Fail closed.
    """
    device = record.device
    now = timezone.now()
    successor = rotation.successor(record, secret, fp, now)
    if successor is not None:
        if not recognition.authenticator_lives(device):
            _factor_gone(request, state, device)
            return None
        assessment = recognition.assess(device, fp, now, request)
        if (
            assessment.recognized
            and rotation.hold(device, successor, fp, now)
            and rotation.grace_still_open(record)
        ):
            # The rotating browser's own double submit, ruled like a sign-in
            # with the secret its first submit was given, never rotated again:
            # every answer sets the same secret, whichever the browser keeps.
            ruling = rules.decide(
                has_factor=True,
                recognition=assessment,
                burst_unpaid=password_throttle.burst_unpaid(user),
            )
            if ruling.outcome != rules.Outcome.TRUSTED:
                state.owe_code(list(ruling.reasons))  # no theft: trust stays
                return None
            _let_in(request, user, state, presented, device, secret, successor, ruling.reasons)
            state.handed_successor(record.pk, _grace_end(record))
            return device
    state.owe_code([policy.STALE_TOKEN])
    if record.session_digest == session_digest(request.session.session_key):
        # The benign race: two parallel requests of one browser right after
        # its sign-in (a page and its XHR, two tabs restoring) both carried
        # the old secret; the first rotated it, this one came second with the
        # same session. Nothing was stolen, so nothing is revoked, but this
        # request is not let in on a secret already spent: it saves a
        # pending state, and if its save lands after the winner's the user
        # enters a code. Fail closed, never open. The cookie is left alone:
        # the winner's response carries the new secret, and deleting the
        # cookie here could land after it and cost the browser its trust.
        return None
    queue_cookie(request, presented, drop=secret)
    if device.expires_at <= now:
        # Trust that is over anyway: nothing left to revoke, and its old
        # secrets are pruned like its records would have been.
        state.reasons = [policy.EXPIRED]
        SupersededToken.objects.filter(device=device).delete()
        events.record_for_device(
            user, EventKind.TRUST_REFUSED, device, request=request, reasons=state.reasons
        )
        return None
    if device.revoked_at is None:
        revoking.revoke(device, reason=policy.STALE_TOKEN, request=request)
    events.record_for_device(
        user, events.SUSPICIOUS_COOKIE, device, request=request, reasons=[policy.STALE_TOKEN]
    )
    return None


@sensitive_variables()
def _admit(
    request: HttpRequest,
    user: Any,
    state: SessionState,
    presented: Presented,
    secret: str,
    device: TrustedDevice,
    fp: Fingerprint,
    reasons: Sequence[str],
) -> TrustedDevice | None:
    """Let a recognized device in, replacing its secret (theft-evident tokens)."""
    new_secret = tokens.new_secret()
    now = timezone.now()
    digest = session_digest(request.session.session_key)
    record = rotation.rotate(device, secret, new_secret, fp, session_digest=digest, now=now)
    if record is None:
        # Lost the compare-and-swap to a parallel request with the same
        # secret (both read it current; this UPDATE waited for the other's
        # commit): the same as arriving just after it, and decided so.
        lost_to = rotation.record_of(device)
        if lost_to is not None:
            return _stale(request, user, state, presented, secret, lost_to, fp)
        state.owe_code([policy.STALE_TOKEN])  # revoked meanwhile
        return None
    # Records of devices past their lifetime are of no more use.
    SupersededToken.objects.filter(device__user=user, device__expires_at__lte=now).delete()
    _let_in(request, user, state, presented, device, secret, new_secret, reasons)
    state.handed_successor(record.pk, _grace_end(record))
    return device


def _grace_end(record: SupersededToken) -> float:
    return (record.superseded_at + rotation.GRACE).timestamp()


@sensitive_variables()
def _let_in(
    request: HttpRequest,
    user: Any,
    state: SessionState,
    presented: Presented,
    device: TrustedDevice,
    presented_secret: str,
    new_secret: str,
    reasons: Sequence[str],
) -> None:
    # The session is verified through its state (the middleware answers
    # is_verified() and otp_device from it). django-otp's own session key is
    # not written: it means "a code was entered here", which did not happen.
    state.trusted_by(device.pk, device.otp_device, list(reasons))
    queue_cookie(request, presented, drop=presented_secret, add=(new_secret, device))
    events.record_for_device(
        user, events.SIGNED_IN_TRUSTED, device, request=request, reasons=list(reasons)
    )


def _factor_gone(request: HttpRequest, state: SessionState, device: TrustedDevice) -> None:
    # SECURITY: trust is bound to the factor that created it; that one is
    # gone (removed or replaced), so this trust goes too.
    revoking.revoke(device, reason=policy.AUTHENTICATOR_REMOVED, request=request)
    state.owe_code([policy.AUTHENTICATOR_REMOVED])


def recheck_agent(request: HttpRequest, state: SessionState) -> SessionState:
    """The session's user agent changed: same kind of browser, or step up."""
    if not request.user.is_authenticated:
        return state  # signed out meanwhile (password changed, deactivated)
    fp = request_fingerprint(request)
    if state.grace_open():
        _end_grace(state)
    state.agent_digest = agent_digest(raw_user_agent(request))
    if (fp.agent.browser, fp.agent.os, fp.agent.device_class) != (
        state.browser,
        state.os,
        state.device_class,
    ):
        # SECURITY: a session cookie now used by another kind of browser is
        # treated like a copied cookie: the session owes a code again.
        state.owe_code([policy.FINGERPRINT_MISMATCH])
        request.session.pop(django_otp.DEVICE_ID_SESSION_KEY, None)
        events.record(
            request.user,
            events.SUSPICIOUS_COOKIE,
            request=request,
            device_name=fp.name,
            reasons=state.reasons,
            device=TrustedDevice.objects.filter(pk=state.trusted_device).first()
            if state.trusted_device
            else None,
        )
    state.save(request)
    return state


def touch(request: HttpRequest, state: SessionState) -> SessionState:
    """What falls due on a request of a verified session, at most once each:

    - the first request of a session handed a rotated secret ends that
      secret's double-click grace (``end_grace``);
    - at most once per interval, the trusted device's "last seen" is
      refreshed and the trust this session rests on checked: a session let
      in by trust lasts no longer than that trust, so once it expired (or
      was revoked without the session ending), the session owes a code.
      This is the only query a trusted session makes after sign-in.
    """
    now = time.time()
    if state.grace_open(now):
        _end_grace(state)
    device = state.trusted_device
    if device is not None and state.touch_due(TOUCH_INTERVAL, now):
        live = (
            TrustedDevice.objects.active()
            .filter(pk=device)
            .update(last_seen_at=timezone.now(), last_ip=client_ip(request) or None)
        )
        state.touched_at = now
        if not live:
            state.owe_code([policy.EXPIRED])
    state.save(request)
    return state


def _end_grace(state: SessionState) -> None:
    """The first request of a session handed a rotated secret: its grace ends.

    The browser got the answer that carried the new secret, so none of its
    clicks is in flight any more: the old secret presented from now on is a
    copy's (``_stale`` revokes). This is the one write it costs (the record's
    successor wiped; the session is saved with the record), on that first
    request only and only while the grace is open: later requests find
    nothing to end, and past the window the grace closed on its own.
    """
    if state.grace_record is not None:
        rotation.end_grace(state.grace_record)
    state.grace_ended()


def follow_session_key(request: HttpRequest, state: SessionState) -> None:
    """Keep the session index right when a view rotated the session key."""
    key = request.session.session_key
    if not key or key == state.session_key:
        return
    sessions.link(request, request.user, state)
    state.save(request)
