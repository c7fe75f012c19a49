"""Trust flows: decide a sign-in, trust a device, revoke one.

The only code of the app that touches sessions, cookies, the security log
and the database together; views and the middleware call into it.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

import django_otp
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import rotate_token
from django.utils import timezone
from django_otp.models import Device

from . import events, policy, sessions, tokens
from .client_ip import client_ip
from .conf import conf
from .fingerprint import Fingerprint, clean_user_agent, fingerprint
from .models import EventKind, SupersededToken, TrustedDevice
from .state import NO_DEVICE, OTP, PENDING, TRUSTED, SessionState, agent_digest

_COOKIE_UPDATE = "_trustgate_cookie"


# --- what the request presents -------------------------------------------


def cookie_name(request: HttpRequest) -> str:
    # SECURITY: the __Host- prefix makes the browser refuse the cookie unless
    # it is Secure, host-only and Path=/.
    return f"__Host-{conf.COOKIE_NAME}" if request.is_secure() else conf.COOKIE_NAME


def presented_secrets(request: HttpRequest) -> list[str]:
    return tokens.parse_cookie(request.COOKIES.get(cookie_name(request)), conf.COOKIE_MAX_USERS)


def raw_user_agent(request: HttpRequest) -> str:
    value = request.META.get("HTTP_USER_AGENT") or ""
    return value[: conf.USER_AGENT_MAX_LENGTH] if isinstance(value, str) else ""


def request_fingerprint(request: HttpRequest) -> Fingerprint:
    return fingerprint(
        request.META.get("HTTP_USER_AGENT"),
        client_ip(request),
        max_length=conf.USER_AGENT_MAX_LENGTH,
        ipv4_prefix=conf.IPV4_PREFIX,
        ipv6_prefix=conf.IPV6_PREFIX,
    )


def session_digest(session_key: str | None) -> str:
    """What a ``SupersededToken`` keeps of the session that rotated it."""
    return hashlib.sha256((session_key or "").encode("ascii", "replace")).hexdigest()


@dataclass
class Presented:
    """The devices the cookie's secrets belong to, whoever's they are."""

    secrets: dict[str, TrustedDevice]  # secret -> device
    unknown: list[str]
    # Secrets a rotation already replaced: secret -> the record of it.
    stale: dict[str, SupersededToken] = field(default_factory=dict)

    @classmethod
    def read(cls, request: HttpRequest) -> Presented:
        found = presented_secrets(request)
        if not found:
            return cls({}, [])
        by_hash = {tokens.hash_secret(secret): secret for secret in found}
        devices = TrustedDevice.objects.filter(token_hash__in=list(by_hash))
        matched = {by_hash[device.token_hash]: device for device in devices}
        unknown = [s for s in found if s not in matched]
        stale: dict[str, SupersededToken] = {}
        if unknown:
            # Only a cookie holding a secret no live record knows costs this
            # second query: a garbled or forgotten one, or a copied one.
            superseded = SupersededToken.objects.filter(
                token_hash__in=[tokens.hash_secret(s) for s in unknown]
            ).select_related("device")
            stale = {by_hash[record.token_hash]: record for record in superseded}
        return cls(matched, [s for s in unknown if s not in stale], stale)

    def for_user(self, user: Any) -> tuple[str | None, TrustedDevice | None]:
        for secret, device in self.secrets.items():
            if device.user_id == user.pk:
                return secret, device
        return None, None

    def stale_for_user(self, user: Any) -> tuple[str | None, SupersededToken | None]:
        for secret, record in self.stale.items():
            if record.device.user_id == user.pk:
                return secret, record
        return None, None


# --- the cookie ---------------------------------------------------------------


def _queue_cookie(
    request: HttpRequest,
    presented: Presented,
    *,
    drop: str | None,
    add: tuple[str, TrustedDevice] | None = None,
) -> None:
    """Rewrite the device cookie: ``add`` in front, ``drop`` and dead secrets out.

    The cookie lives as long as the longest-lived trust it holds: use does
    not extend trust, so neither does rewriting the cookie.
    """
    now = timezone.now()
    live = [
        (secret, device)
        for secret, device in presented.secrets.items()
        if secret != drop and device.revoked_at is None and device.expires_at > now
    ]
    if add is not None:
        live.insert(0, add)
    # Superseded and unknown secrets are never written back.
    kept = [secret for secret, _ in live]
    expires = max((device.expires_at for _, device in live), default=now)
    setattr(request, _COOKIE_UPDATE, (kept, expires))


def apply_cookie(request: HttpRequest, response: HttpResponse) -> None:
    """Write the cookie update a flow queued on ``request``, if any."""
    update = getattr(request, _COOKIE_UPDATE, None)
    if update is None:
        return
    kept, expires = update
    name = cookie_name(request)
    max_age = int((expires - timezone.now()).total_seconds())
    if not kept or max_age <= 0:
        response.delete_cookie(name, path="/", samesite="Lax")
        return
    response.set_cookie(
        name,
        tokens.build_cookie(kept, conf.COOKIE_MAX_USERS),
        max_age=max_age,
        path="/",
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )


# --- deciding a sign-in --------------------------------------------------------


def _verified_by_django_otp(request: HttpRequest, user: Any) -> Device | None:
    """A device django-otp's own login forms put in this session, if valid."""
    persistent_id = request.session.get(django_otp.DEVICE_ID_SESSION_KEY)
    if not persistent_id:
        return None
    device = Device.from_persistent_id(persistent_id)
    if device is None or device.user_id != user.pk or not device.confirmed:
        return None
    return device


def begin(request: HttpRequest, user: Any) -> SessionState:
    """Decide a freshly signed-in session: no 2FA, trusted device, or step-up."""
    fp = request_fingerprint(request)
    state = SessionState(
        uid=str(user.pk),
        status=NO_DEVICE,
        agent_digest=agent_digest(raw_user_agent(request)),
        browser=fp.agent.browser,
        os=fp.agent.os,
        device_class=fp.agent.device_class,
    )
    trusted: TrustedDevice | None = None
    if not django_otp.user_has_device(user):
        required = conf.ENROLLMENT_REQUIRED
        state.must_enroll = bool(required and required(user))
    elif (verified := _verified_by_django_otp(request, user)) is not None:
        state.status, state.otp_device, state.otp_at = OTP, verified.persistent_id, time.time()
    else:
        trusted = _assess(request, user, state, fp)
    state.session_key = sessions.link(request, user, trusted, old_key="")
    state.save(request.session)
    return state


def _assess(
    request: HttpRequest, user: Any, state: SessionState, fp: Fingerprint
) -> TrustedDevice | None:
    presented = Presented.read(request)
    secret, device = presented.for_user(user)
    if device is None:
        stale_secret, stale = presented.stale_for_user(user)
        if stale_secret is not None and stale is not None:
            _stale(request, user, state, presented, stale_secret, stale)
            return None
    now = timezone.now()
    assessment = policy.assess(
        device,
        fp,
        now,
        idle_timeout=conf.IDLE_TIMEOUT,
        require_known_network=conf.REQUIRE_KNOWN_NETWORK,
    )
    if assessment.recognized and device is not None and secret is not None:
        if _admit(request, user, state, presented, secret, device, fp, assessment):
            return device
        assessment = policy.Assessment(False, (policy.STALE_TOKEN,))
    state.status, state.pending_since = PENDING, time.time()
    state.reasons = list(assessment.reasons)
    if policy.FINGERPRINT_MISMATCH in assessment.reasons and device is not None:
        # A live secret from another kind of browser: the cookie was copied.
        events.record(
            user,
            events.SUSPICIOUS_COOKIE,
            request=request,
            device_name=device.name,
            reasons=assessment.reasons,
            device=device,
        )
    dead = device is not None and (device.revoked_at is not None or device.expires_at <= now)
    if secret is not None and device is not None and dead:
        # A revoked or expired device's secret: trust is over, the secret
        # leaves the cookie, and the user's log says it was tried.
        events.record(
            user,
            EventKind.TRUST_REFUSED,
            request=request,
            device_name=device.name,
            reasons=assessment.reasons,
        )
        SupersededToken.objects.filter(device=device).delete()
        _queue_cookie(request, presented, drop=secret)
    return None


def _stale(
    request: HttpRequest,
    user: Any,
    state: SessionState,
    presented: Presented,
    secret: str,
    record: SupersededToken,
) -> None:
    """A secret a rotation replaced came back: two browsers hold one device.

    SECURITY: either the legitimate browser or a copy of its cookie signed
    in since the copy was made; the server cannot tell which one this is,
    so the device is revoked (ending the sessions it let in, the thief's
    included) and this sign-in owes a code. Fail closed.
    """
    device = record.device
    state.status, state.pending_since = PENDING, time.time()
    state.reasons = [policy.STALE_TOKEN]
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
        return
    _queue_cookie(request, presented, drop=secret)
    if device.expires_at <= timezone.now():
        # Trust that is over anyway: nothing left to revoke, and its old
        # secrets are pruned like its records would have been.
        state.reasons = [policy.EXPIRED]
        SupersededToken.objects.filter(device=device).delete()
        events.record(
            user,
            EventKind.TRUST_REFUSED,
            request=request,
            device_name=device.name,
            reasons=state.reasons,
        )
        return
    if device.revoked_at is None:
        _revoke_one(device, reason=policy.STALE_TOKEN, request=request)
    events.record(
        user,
        events.SUSPICIOUS_COOKIE,
        request=request,
        device_name=device.name,
        reasons=[policy.STALE_TOKEN],
    )


def _admit(
    request: HttpRequest,
    user: Any,
    state: SessionState,
    presented: Presented,
    secret: str,
    device: TrustedDevice,
    fp: Fingerprint,
    assessment: policy.Assessment,
) -> bool:
    """Let a recognized device in, replacing its secret (theft-evident tokens)."""
    new_secret = tokens.new_secret()
    now = timezone.now()
    # Compare-and-swap on the old hash: of two requests racing with one
    # secret, only one rotates it.
    with transaction.atomic():
        rotated = TrustedDevice.objects.filter(
            pk=device.pk, token_hash=device.token_hash, revoked_at__isnull=True
        ).update(
            token_hash=tokens.hash_secret(new_secret),
            last_seen_at=now,
            last_ip=fp.ip or None,
        )
        if not rotated:
            # Lost the compare-and-swap to a parallel request with the same
            # secret: step up (the caller says why), never let both in.
            return False
        # Kept so that the old secret coming back is noticed (``_stale``).
        SupersededToken.objects.create(
            device=device,
            token_hash=device.token_hash,
            session_digest=session_digest(request.session.session_key),
            superseded_at=now,
        )
    # Records of devices past their lifetime are of no more use.
    SupersededToken.objects.filter(device__user=user, device__expires_at__lte=now).delete()
    request.session[django_otp.DEVICE_ID_SESSION_KEY] = device.otp_device
    state.status, state.otp_device = TRUSTED, device.otp_device
    state.trusted_device, state.touched_at = device.pk, time.time()
    state.reasons = list(assessment.reasons)
    _queue_cookie(request, presented, drop=secret, add=(new_secret, device))
    events.record(
        user,
        events.SIGNED_IN_TRUSTED,
        request=request,
        device_name=device.name,
        reasons=assessment.reasons,
        device=device,
    )
    return True


def recheck_agent(request: HttpRequest, state: SessionState) -> SessionState:
    """The session's user agent changed: same kind of browser, or step up."""
    fp = request_fingerprint(request)
    state.agent_digest = agent_digest(raw_user_agent(request))
    if (fp.agent.browser, fp.agent.os, fp.agent.device_class) != (
        state.browser,
        state.os,
        state.device_class,
    ):
        # SECURITY: a session cookie now used by another kind of browser is
        # treated like a copied cookie: the session owes a code again.
        state.status, state.pending_since = PENDING, time.time()
        state.reasons = [policy.FINGERPRINT_MISMATCH]
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
    state.save(request.session)
    return state


def touch(request: HttpRequest, state: SessionState) -> None:
    """Refresh the trusted device's "last seen", at most once per interval."""
    now = time.time()
    if state.trusted_device is None or (
        state.touched_at and now - state.touched_at < conf.TOUCH_INTERVAL.total_seconds()
    ):
        return
    TrustedDevice.objects.filter(pk=state.trusted_device, revoked_at__isnull=True).update(
        last_seen_at=timezone.now(), last_ip=client_ip(request) or None
    )
    state.touched_at = now
    state.save(request.session)


def follow_session_key(request: HttpRequest, decided: SessionState) -> None:
    """Keep the session index right when a view rotated the session key."""
    key = request.session.session_key
    if not key or key == decided.session_key:
        return
    # The view may have rewritten the state (a code passed): read it anew.
    state = SessionState.load(request.session)
    if state is None or key == state.session_key:
        return
    device = (
        TrustedDevice.objects.filter(pk=state.trusted_device).first()
        if state.trusted_device
        else None
    )
    state.session_key = sessions.link(request, request.user, device, state.session_key)
    state.save(request.session)


# --- after a code ----------------------------------------------------------


def mark_verified(request: HttpRequest, otp_device: Device) -> SessionState:
    """The session's user just entered a valid code from ``otp_device``."""
    user = request.user
    old_key = request.session.session_key or ""
    django_otp.login(request, otp_device)
    # SECURITY: a new privilege level gets a new session key and CSRF token;
    # django_otp.login() rotates neither.
    request.session.cycle_key()
    rotate_token(request)
    state = SessionState.load(request.session)
    if state is None or state.uid != str(user.pk):
        state = SessionState(uid=str(user.pk), status=OTP)
        fp = request_fingerprint(request)
        state.agent_digest = agent_digest(raw_user_agent(request))
        state.browser, state.os = fp.agent.browser, fp.agent.os
        state.device_class = fp.agent.device_class
    state.status, state.otp_device, state.otp_at = OTP, otp_device.persistent_id, time.time()
    state.pending_since, state.reasons, state.must_enroll = None, [], False
    trusted = None
    if state.trusted_device:
        trusted = TrustedDevice.objects.filter(pk=state.trusted_device).first()
    state.session_key = sessions.link(request, user, trusted, old_key or state.session_key)
    state.save(request.session)
    return state


def trust_device(request: HttpRequest, otp_device: Device) -> TrustedDevice:
    """Trust the browser of ``request`` for its user, after a code just passed.

    A device this browser already held for the user is replaced, so a code
    entered after a fingerprint mismatch re-trusts with the new fingerprint.
    """
    user = request.user
    fp = request_fingerprint(request)
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
        state.session_key = sessions.link(request, user, device, state.session_key)
        state.save(request.session)
    _queue_cookie(request, presented, drop=old_secret, add=(secret, device))
    return device


def _stored_ua_length() -> int:
    # SECURITY: never more than the column holds, whatever the setting says:
    # PostgreSQL would refuse the row (a 500) rather than cut it (R33).
    column = TrustedDevice._meta.get_field("user_agent").max_length or 0
    return min(conf.USER_AGENT_MAX_LENGTH, column)


def _evict_over_cap(user: Any, request: HttpRequest | None) -> None:
    """Make room for one more device: revoke the least recently used."""
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
    events.record(
        device.user,
        events.DEVICE_REVOKED,
        request=request,
        device_name=device.name,
        reasons=[reason],
        device=device,
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
