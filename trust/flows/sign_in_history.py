"""The sign-in history: one ``SignInAttempt`` row for every attempt past the
username, with its outcome, what the risk model saw and what it counted.

A weighed sign-in's row is written after the decision (``record_attempt``);
a wrong password or a blocked address gets one without being weighed
(``record_failed_password``, ``record_blocked``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest
from django.utils import timezone

from ..browser import request_fingerprint
from ..conf import conf
from ..models import SignInAttempt, SignInOutcome, TrustedDevice, TrustedSession
from ..rules.risk import decay, geo
from ..rules.risk import decision as risk_decision
from ..rules.risk.score import Score

if TYPE_CHECKING:
    from .risk import Weighed


def contributions(result: Score | None) -> dict[str, Any]:
    """The score's factors and the parts of each group's sums, as stored on
    the history row: lists, not objects, so the order survives PostgreSQL's
    jsonb (which sorts keys); finite numbers only (JSON has no infinity)."""
    if result is None or not result.factors:
        return {}

    def number(value: float) -> float | None:
        return round(value, 6) if math.isfinite(value) else None

    return {
        "factors": [[name, number(factor)] for name, factor in result.factors],
        "levels": [[name, number(site), number(mine)] for name, site, mine in result.terms],
    }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def record_attempt(
    request: HttpRequest,
    user: Any,
    found: Weighed,
    outcome: str,
    reasons: Iterable[str],
    *,
    counted: list[tuple[str, str]] | None = None,
) -> SignInAttempt:
    """A weighed sign-in's history row. ``counted``: the pairs its success
    adds to the counts, in the month of its time (kept for ``uncount``)."""
    where = found.location
    return SignInAttempt.objects.create(
        user=user,
        at=found.features.at,
        ip=where.ip or None,
        network=where.network[:64],
        asn=where.asn[:64],
        country=where.country[:2],
        device_name=found.device_name[:140],
        outcome=outcome,
        reasons=list(reasons),
        score=_finite(found.decision.score),
        risk_action=(found.model or found.decision).action,
        shadow=found.shadow,
        contributions=contributions(found.score),
        counted_in=decay.bucket(found.features.at) if counted is not None else None,
        counted=counted or [],
        device=found.device if outcome == SignInOutcome.ALLOWED else None,
        session_id=_session_id(request),
    )


def _session_id(request: HttpRequest) -> int | None:
    """The session index entry (``TrustedSession``) of the request's session."""
    key = getattr(getattr(request, "session", None), "session_key", None)
    if not key:
        return None
    return TrustedSession.objects.filter(session_key=key).values_list("pk", flat=True).first()


def record_failed_password(request: HttpRequest | None, user_id: Any) -> None:
    """A wrong password: a history row for the account it names. For a name
    that is no account's (``user_id`` None), the same work and no row.

    SECURITY: the time a wrong password takes must not tell whether the
    account exists; only the row's insert is left to tell it apart.
    """
    if request is None or not conf.RISK_ENABLED:
        return
    _record_unchecked(request, user_id, SignInOutcome.FAILED_PASSWORD, [])


def record_blocked(request: HttpRequest | None, user_id: Any) -> None:
    """A sign-in refused before its password was checked (a blocked address)."""
    if request is None or user_id is None:
        return
    _record_unchecked(request, user_id, SignInOutcome.DENIED, [risk_decision.BLOCKED_ADDRESS])


def _record_unchecked(request: HttpRequest, user_id: Any, outcome: str, reasons: list[str]) -> None:
    """A history row for an attempt that never got as far as a decision."""
    fp = request_fingerprint(request)
    where = geo.locate(fp.ip, ipv4_prefix=conf.IPV4_PREFIX, ipv6_prefix=conf.IPV6_PREFIX)
    if user_id is None:
        return
    SignInAttempt.objects.create(
        user_id=user_id,
        ip=where.ip or None,
        network=where.network[:64],
        asn=where.asn[:64],
        country=where.country[:2],
        device_name=fp.name[:140],
        outcome=outcome,
        reasons=reasons,
    )


def tie_to_device(request: HttpRequest, user: Any, device: TrustedDevice) -> None:
    """The session's sign-in trusted ``device``: a report about the device
    then reaches that sign-in too (``uncount``)."""
    session_id = _session_id(request)
    if session_id is not None:
        SignInAttempt.objects.filter(user=user, session_id=session_id, device=None).update(
            device=device
        )


def prune(now: Any = None) -> int:
    """Drop sign-in history older than ``TRUST_SIGN_IN_HISTORY_MAX_AGE``."""
    now = now or timezone.now()
    deleted, _ = SignInAttempt.objects.filter(at__lt=now - conf.SIGN_IN_HISTORY_MAX_AGE).delete()
    return deleted
