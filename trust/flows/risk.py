"""The risk model in the sign-in flow: weighing a sign-in and what follows.

The pure model is ``trust.rules.risk``; this module gives it what it reads
(the request's features, the counts: ``risk_counts``; the trusted device's
origins: ``device_origins``; a burst of wrong passwords) and, once
``admission.begin`` decided, writes what follows (``decided``, ``passed``):
the history row (``sign_in_history``), the counts of a successful sign-in,
the device's new origin and the alert.

A sign-in is weighed once, in ``admission.begin``, which hands the result
(``Weighed``) on to ``decided`` for the history row written after the
decision: an argument, not an attribute of the request.
Only password sign-ins are weighed (``password_throttle.password_checked``):
a passkey alone, a remote user or ``force_login`` are not the model's.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from ..browser import raw_user_agent, request_fingerprint
from ..conf import conf
from ..models import EventKind, SignInAttempt, SignInOutcome, TrustedDevice
from ..rules import policy
from ..rules.fingerprint import Fingerprint
from ..rules.risk import decay, geo
from ..rules.risk import decision as risk_decision
from ..rules.risk.decision import RiskContext, RiskDecision
from ..rules.risk.features import SignInFeatures, features_of
from ..rules.risk.score import Score, score
from . import events, password_throttle, risk_counts, sign_in_history
from .device_origins import device_asns, device_countries, remember_origin
from .risk_counts import DbCounts

logger = logging.getLogger("trust.risk")

# The device policy's reasons (and the burst's, which has its own alert): an
# attempt stepped up for any other reason (the risk model's, a site's signal)
# that then passed is an alert, not only a new device.
_DEVICE_REASONS = frozenset(
    value for name, value in vars(policy).items() if name.isupper() and isinstance(value, str)
)


@dataclass
class Weighed:
    """One password sign-in, as the risk model saw it."""

    features: SignInFeatures
    decision: RiskDecision  # what is enforced
    location: geo.Location
    device_name: str
    device: TrustedDevice | None = None  # the trusted device it came with
    # What the model decided: ``decision`` itself, except in shadow mode.
    model: RiskDecision | None = None
    shadow: bool = False
    score: Score | None = None


# --- the decision -----------------------------------------------------------


def weigh(
    request: HttpRequest,
    user: Any,
    *,
    trusted_device: bool,
    fp: Fingerprint | None = None,
    device: TrustedDevice | None = None,
) -> Weighed | None:
    """Score this password sign-in and apply the rules (``None``: not weighed).

    ``device``: the trusted device the sign-in came with, when recognized.
    """
    if not conf.RISK_ENABLED or not password_throttle.password_checked(request):
        return None
    fp = fp or request_fingerprint(request)
    now = timezone.now()
    location = geo.locate(fp.ip, ipv4_prefix=conf.IPV4_PREFIX, ipv6_prefix=conf.IPV6_PREFIX)
    features = features_of(fp, raw_user_agent(request), now, location=location)
    counts = DbCounts(user, features)  # also the last success and the bursts
    the_score = _score(user, features, counts)
    last = counts.last_success
    context = RiskContext(
        features=features,
        score=the_score,
        trusted_device=trusted_device,
        password_failures=password_throttle.unpaid(user, counts.bursts),
        previous_country=last.country if last is not None else "",
        previous_at=last.at if last is not None else None,
        device_countries=device_countries(device),
        device_asns=device_asns(device),
    )
    result = risk_decision.decide(
        context,
        thresholds=conf.RISK_THRESHOLDS,
        blocked=conf.RISK_BLOCKED_NETWORKS,
        signals=conf.RISK_SIGNALS,
    )
    shadow = conf.RISK_SHADOW
    enforced = _shadowed(result) if shadow else result
    found = Weighed(features, enforced, location, fp.name, device, result, shadow, the_score)
    return found


def _shadowed(model: RiskDecision) -> RiskDecision:
    """What shadow mode enforces of the model's decision: nothing, but a burst
    of wrong passwords (which owes a code with the model switched off too)."""
    if risk_decision.PASSWORD_FAILURES in model.reasons:
        return RiskDecision(risk_decision.STEP_UP, (risk_decision.PASSWORD_FAILURES,), model.score)
    return RiskDecision(risk_decision.ALLOW, (), model.score)


def _score(user: Any, features: SignInFeatures, counts: DbCounts) -> Score:
    try:
        return score(features, counts)
    except (ArithmeticError, ValueError):  # SECURITY: never a 500; a NaN score owes a code
        logger.exception("risk score failed for user %s", user.pk)
        return Score(math.nan, 0)


def decided(
    request: HttpRequest, user: Any, found: Weighed, outcome: str, reasons: Iterable[str]
) -> SignInAttempt:
    """After ``begin`` decided the sign-in ``found`` weighed: its history row,
    its counts (when let in) and its alert. Returns the row."""
    model = found.model or found.decision
    reasons = [*reasons, *(r for r in model.reasons if r not in reasons)]
    let_in = outcome == SignInOutcome.ALLOWED
    pairs = risk_counts.value_keys(found.features) if let_in else None
    attempt = sign_in_history.record_attempt(request, user, found, outcome, reasons, counted=pairs)
    if pairs is not None:
        risk_counts.add_success(user, pairs, decay.bucket(found.features.at))
        if found.device is not None:
            remember_origin(found.device, found.features.country, found.features.asn)
        _alert(request, user, reasons, passed=False)
    elif outcome == SignInOutcome.DENIED:
        events.record(user, EventKind.SIGN_IN_REFUSED, request=request, reasons=reasons)
    return attempt


def passed(request: HttpRequest, user: Any, attempt_id: int | None) -> None:
    """The code a weighed sign-in owed was given: the attempt succeeded."""
    if attempt_id is None:
        return
    attempt = SignInAttempt.objects.filter(
        pk=attempt_id, user=user, outcome=SignInOutcome.STEPPED_UP
    ).first()
    if attempt is None:
        return
    fp = request_fingerprint(request)
    location = geo.locate(fp.ip, ipv4_prefix=conf.IPV4_PREFIX, ipv6_prefix=conf.IPV6_PREFIX)
    # The features of the request that completed the sign-in (same session).
    features = features_of(fp, raw_user_agent(request), attempt.at, location=location)
    pairs = risk_counts.value_keys(features)
    month = decay.bucket(attempt.at)
    with transaction.atomic():
        updated = SignInAttempt.objects.filter(
            pk=attempt.pk, outcome=SignInOutcome.STEPPED_UP
        ).update(outcome=SignInOutcome.PASSED, counted_in=month, counted=pairs)
        if not updated:
            return  # a parallel request counted it already
        risk_counts.add_success(user, pairs, month)
    _alert(request, user, list(attempt.reasons or []), passed=True)


def _alert(request: HttpRequest, user: Any, reasons: list[str], *, passed: bool) -> None:
    """A new country, or an unusual sign-in that passed its code: an alert."""
    if risk_decision.NEW_COUNTRY in reasons:
        events.record(user, EventKind.NEW_COUNTRY, request=request, reasons=reasons)
    elif passed and any(r not in _DEVICE_REASONS for r in reasons):
        events.record(user, EventKind.RISKY_SIGN_IN_PASSED, request=request, reasons=reasons)
