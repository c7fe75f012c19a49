"""From a sign-in's score and the rules beside it to an action with reasons.

Pure: a ``RiskContext`` in, a ``RiskDecision`` out. The action is the most
severe that any rule, the score or a site's own signal asks for. A site's
signal is a callable ``(RiskContext) -> SignalResult``; one that raises asks
for a code (fail closed), it never lets a sign-in through.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from . import geo
from .blocklist import BlockList
from .features import ASN, BLOCK, COUNTRY, NETWORK, SignInFeatures, short_digest
from .score import Score
from .travel import impossible_travel

ALLOW, STEP_UP, DENY = "allow", "step_up", "deny"
_SEVERITY = {ALLOW: 0, STEP_UP: 1, DENY: 2}

NEW_COUNTRY = "new_country"
NEW_ASN = "new_asn"
NEW_NETWORK = "new_network"
NEW_BLOCK = "new_block"
NEW_DEVICE_COUNTRY = "new_device_country"
NEW_DEVICE_NETWORK = "new_device_network"
IMPOSSIBLE_TRAVEL = "impossible_travel"
PASSWORD_FAILURES = "password_failures"
RISK_SCORE = "risk_score"
BLOCKED_ADDRESS = "blocked_address"
SIGNAL_ERROR = "signal_error"

_NEW = ((COUNTRY, NEW_COUNTRY), (ASN, NEW_ASN), (NETWORK, NEW_NETWORK))


@dataclass(frozen=True)
class Thresholds:
    """Where the score turns into an action (defaults: docs/risk.md, measured
    by ``python -m bench.rba``).

    ``step_up``: a code is owed at or above it. ``trusted_step_up``: the same
    for a sign-in that presents a valid trusted-device cookie (the device
    already vouches for the user agent, so only a far stronger signal takes
    the trust away). ``deny``: refused outright at or above it (``inf``: the
    score alone never denies). ``new_country_on_trusted``: a trusted device
    in a country new to the user owes a code (a copied cookie abroad).
    ``new_asn_step_up``: a sign-in without a trusted device from an operator
    (ASN) the user has never signed in from owes a code: the score's
    interpolation gives the ASN a bounded weight, and a targeted attacker
    (the victim's country and user agent) differs from the user mostly there.
    ``new_network_step_up``: the same for an address block (/16, /40) the
    user has never signed in from: a targeted attacker on the victim's own
    operator is almost always in another block than the victim's home and
    mobile networks. ``new_country_on_device``: a trusted device in a country
    it was never used in owes a code, unless the user's last sign-in was from
    there or most of their sign-ins are (a copied cookie in a country the
    user once visited with another device). ``min_users``: the score is
    applied once the site has this many users with history: the population
    is the score's model of an attacker, and on a site of a handful of users
    it is those users (a user's own usual sign-in scores near 1 there); the
    rules apply from the first user on.
    """

    step_up: float = 1.0
    trusted_step_up: float = math.inf
    deny: float = math.inf
    new_country_on_trusted: bool = True
    new_asn_step_up: bool = True
    new_network_step_up: bool = True
    new_country_on_device: bool = True
    new_network_on_device: bool = True
    min_users: int = 50


@dataclass(frozen=True)
class RiskContext:
    """What a rule or a site's signal may read about one password sign-in."""

    features: SignInFeatures
    score: Score
    trusted_device: bool = False  # a valid trusted-device cookie came with it
    password_failures: bool = False  # a burst of failures against the account
    previous_country: str = ""  # of the user's last successful sign-in
    previous_at: datetime | None = None
    # Countries the trusted device was used in (empty: not known, not checked).
    device_countries: frozenset[str] = frozenset()
    # Operators (ASNs, as ``short_digest``s) the trusted device signed in
    # from (empty: not known, not checked).
    device_asns: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SignalResult:
    """A signal's answer: its reasons and the action it asks for at least."""

    reasons: tuple[str, ...] = ()
    level: str = ALLOW


Signal = Callable[[RiskContext], SignalResult]


@dataclass(frozen=True)
class RiskDecision:
    action: str
    reasons: tuple[str, ...] = ()
    score: float = 0.0


def _new_reasons(context: RiskContext) -> list[str]:
    """Which of the coarse features the user has never signed in from."""
    if context.score.history <= 0:
        return []
    return [
        reason
        for feature, reason in _NEW
        if feature in context.score.unseen and context.features.value(feature)
    ]


def _population_enough(score: Score, limits: Thresholds) -> bool:
    return score.users is None or score.users >= limits.min_users


def _new_block(context: RiskContext) -> bool:
    """Is the address block one the user has never signed in from?"""
    return (
        context.score.history > 0 and bool(context.features.block) and BLOCK in context.score.unseen
    )


def _new_to_device(context: RiskContext) -> bool:
    """A trusted device in a country it was never used in, that is neither
    where the user last signed in nor where most of their sign-ins are."""
    if not (context.trusted_device and context.device_countries):
        return False
    country = context.features.country
    if not country:
        # SECURITY: a public address no table places (a 6to4 relay's,
        # unallocated space) is no alibi: fail closed. The site's own
        # networks are placed nowhere and a remote client cannot have them.
        return not geo.is_local(context.features.ip)
    return (
        country not in context.device_countries
        and country != context.previous_country
        and context.score.country_share < 0.5
    )


def _off_device_history(context: RiskContext) -> bool:
    """A trusted device on an operator it never signed in from, in an address
    block the user never signed in from on any device: not the device's own
    history (a copied cookie in the victim's country, on another ISP)."""
    if not (context.trusted_device and context.device_asns):
        return False
    if geo.is_local(context.features.ip):
        return False  # the site's own networks: no remote client has one
    if context.features.asn and short_digest(context.features.asn) in context.device_asns:
        return False
    # SECURITY: an address no table gives an operator fits nothing of the
    # device's: only a block the user knows lets it in.
    return not context.features.block or _new_block(context)


def decide(
    context: RiskContext,
    *,
    thresholds: Thresholds | None = None,
    blocked: BlockList | None = None,
    signals: Sequence[Signal] = (),
) -> RiskDecision:
    """The action for a sign-in, with every reason that contributed."""
    limits = thresholds or Thresholds()
    level = ALLOW
    reasons: list[str] = []

    def ask(action: str, reason: str | None = None) -> None:
        nonlocal level
        if _SEVERITY[action] > _SEVERITY[level]:
            level = action
        if reason and reason not in reasons:
            reasons.append(reason)

    new = _new_reasons(context)
    for reason in new:
        ask(ALLOW, reason)
    if blocked is not None and context.features.ip in blocked:
        ask(DENY, BLOCKED_ADDRESS)
    if context.password_failures:
        ask(STEP_UP, PASSWORD_FAILURES)
    if impossible_travel(
        context.previous_country,
        context.previous_at,
        context.features.country,
        context.features.at,
    ):
        ask(STEP_UP, IMPOSSIBLE_TRAVEL)
    value = context.score.value
    if math.isnan(value):
        ask(STEP_UP, RISK_SCORE)  # SECURITY: a score that failed clears nothing
    elif context.score.history > 0 and _population_enough(context.score, limits):
        if math.isfinite(limits.deny) and value >= limits.deny:
            ask(DENY, RISK_SCORE)
        elif value >= (limits.trusted_step_up if context.trusted_device else limits.step_up):
            ask(STEP_UP, RISK_SCORE)
    if context.trusted_device and limits.new_country_on_trusted and NEW_COUNTRY in new:
        ask(STEP_UP)
    if not context.trusted_device and limits.new_asn_step_up and NEW_ASN in new:
        ask(STEP_UP)
    if not context.trusted_device and limits.new_network_step_up and _new_block(context):
        ask(STEP_UP, NEW_BLOCK)
    new_to_device = limits.new_country_on_device and _new_to_device(context)
    if new_to_device:
        # A country new to the user is new to the device too: one reason.
        ask(STEP_UP, None if NEW_COUNTRY in new else NEW_DEVICE_COUNTRY)
    if limits.new_network_on_device and _off_device_history(context):
        # In a country new to the device, the country says it: one reason.
        ask(STEP_UP, None if new_to_device or NEW_COUNTRY in new else NEW_DEVICE_NETWORK)
    for signal in signals:
        try:
            result = signal(context)
            wanted = result.level if result.level in _SEVERITY else STEP_UP
            extra = tuple(str(r)[:64] for r in result.reasons)
        except Exception:  # SECURITY: a broken signal fails closed
            wanted, extra = STEP_UP, (SIGNAL_ERROR,)
        ask(wanted)
        for reason in extra:
            ask(ALLOW, reason)
    return RiskDecision(level, tuple(reasons), value)
