"""The risk model in the sign-in flow: counts, the decision, the history.

The pure model is ``trust.rules.risk``; this module gives it what it reads
(the request's features, the user's counts over the window's months, their
last successful sign-in, a burst of wrong passwords) and keeps what it needs
next time:

- ``RiskCount`` rows, one a month (``trust.rules.risk.decay``), incremented
  on each **successful** password sign-in (let in, or a code passed after a
  step-up), by atomic statements that take the rows' locks in one order (no
  deadlock between parallel sign-ins), and decremented once if the user
  reports the sign-in ("this wasn't me": ``reported``, ``uncount``);
- ``SignInAttempt`` rows: every attempt past the username, with its outcome
  and what it counted.

A sign-in is weighed once, in ``admission.begin``; the result is kept on
the request (``weighed``) for the history row written after the decision.
Only password sign-ins are weighed (``password_throttle.password_checked``):
a passkey alone, a remote user or ``force_login`` are not the model's.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.db.models import DateTimeField, F, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Greatest
from django.http import HttpRequest
from django.utils import timezone

from ..browser import raw_user_agent, request_fingerprint
from ..conf import conf
from ..digests import keyed_digest
from ..models import (
    SUCCESSFUL_OUTCOMES,
    EventKind,
    RiskCount,
    SignInAttempt,
    SignInOutcome,
    TrustedDevice,
    TrustedSession,
)
from ..rules import policy
from ..rules.fingerprint import Fingerprint
from ..rules.risk import decay, geo
from ..rules.risk import decision as risk_decision
from ..rules.risk.decision import RiskContext, RiskDecision
from ..rules.risk.features import (
    BLOCK,
    FEATURES,
    IP,
    NETWORK,
    SignInFeatures,
    features_of,
    short_digest,
)
from ..rules.risk.score import GROUPS, UNSCORED, Score, score
from . import events, password_throttle

logger = logging.getLogger("trust.risk")

# Bookkeeping rows beside the value rows (their feature names are not features).
TOTAL = "*total"  # successful sign-ins (site: all; user: theirs)
DISTINCT = "*distinct"  # distinct values seen, one row per feature (value = its name)
USERS = "*users"  # site only: users with at least one successful sign-in

# The device policy's reasons (and the burst's, which has its own alert): an
# attempt stepped up for any other reason (the risk model's, a site's signal)
# that then passed is an alert, not only a new device.
_DEVICE_REASONS = frozenset(
    value for name, value in vars(policy).items() if name.isupper() and isinstance(value, str)
)
# Features whose distinct values are counted (site and user): the coarser
# levels of each hierarchy (the score's smoothing), and those counted but not
# scored (the rules ask whether the user has any history of them).
_DISTINCT_FEATURES = frozenset((*(name for levels in GROUPS for name, _ in levels[1:]), *UNSCORED))

_ATTR = "_trustgate_risk"


# A device remembers this many countries (the latest ones), in 64 characters.
MAX_DEVICE_COUNTRIES = 16
# ... and this many operators (ASNs, as 8-digit digests), in 144 characters.
MAX_DEVICE_ASNS = 16


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


# --- the countries of a trusted device ---------------------------------------------


def device_countries(device: TrustedDevice | None) -> frozenset[str]:
    """The countries ``device`` signed in from (empty: none known).

    A device trusted before the record was kept (or only ever used from
    addresses no table places) falls back on the countries of its first and
    last addresses, so a copy's sign-in is checked, not recorded as its own.
    """
    if device is None:
        return frozenset()
    if device.countries:
        return frozenset(device.countries.split())
    return frozenset({geo.country_of(device.first_ip), geo.country_of(device.last_ip)} - {""})


def with_country(countries: str, country: str) -> str:
    """``countries`` with ``country`` added last, the oldest dropped past the cap."""
    kept = [c for c in countries.split() if c != country]
    if country:
        kept.append(country)
    return " ".join(kept[-MAX_DEVICE_COUNTRIES:])


def device_asns(device: TrustedDevice | None) -> frozenset[str]:
    """The operators ``device`` signed in from, as ``short_digest``s (empty:
    none known). A device trusted before the record was kept falls back on
    the operators of its first and last addresses, as for its countries."""
    if device is None:
        return frozenset()
    if device.asns:
        return frozenset(device.asns.split())
    known = {geo.asn_of(device.first_ip), geo.asn_of(device.last_ip)} - {""}
    return frozenset(short_digest(asn) for asn in known)


def with_asn(asns: str, asn: str) -> str:
    """``asns`` with ``asn``'s digest added last, the oldest dropped past the cap."""
    token = short_digest(asn) if asn else ""
    kept = [a for a in asns.split() if a != token]
    if token:
        kept.append(token)
    return " ".join(kept[-MAX_DEVICE_ASNS:])


def remember_country(device: TrustedDevice, country: str) -> None:
    """Add a country to a trusted device's record (``remember_origin``)."""
    remember_origin(device, country, "")


def remember_origin(device: TrustedDevice, country: str, asn: str) -> None:
    """Add a country and an operator to a trusted device's record (a write
    only when one is new).

    A compare-and-swap on the record as read, so a parallel writer's country
    or operator is not lost (a lost one would only cost a code, but it is
    kept all the same).
    """
    for _ in range(3):
        known_countries, known_asns = device_countries(device), device_asns(device)
        new_country = bool(country) and country not in known_countries
        new_asn = bool(asn) and short_digest(asn) not in known_asns
        if not (new_country or new_asn):
            return
        seen_countries, seen_asns = device.countries, device.asns
        countries = with_country(seen_countries or " ".join(sorted(known_countries)), country)
        asns = with_asn(seen_asns or " ".join(sorted(known_asns)), asn)
        if TrustedDevice.objects.filter(
            pk=device.pk, countries=seen_countries, asns=seen_asns
        ).update(countries=countries, asns=asns):
            device.countries, device.asns = countries, asns
            return
        fresh = TrustedDevice.objects.filter(pk=device.pk).values_list("countries", "asns")
        device.countries, device.asns = next(iter(fresh), ("", ""))


# --- what is stored -----------------------------------------------------------


def _stored(feature: str, value: str) -> str:
    """The value as kept in ``RiskCount``: addresses, networks and blocks as
    keyed digests (privacy: the counts hold no address), everything bounded."""
    if feature in (IP, NETWORK, BLOCK) and value:
        return keyed_digest("trust.risk.count", f"{feature}:{value}")[:32]
    return value[:80]


def _value_keys(features: SignInFeatures) -> list[tuple[str, str]]:
    return [(name, _stored(name, features.value(name))) for name in FEATURES]


@dataclass(frozen=True)
class LastSuccess:
    """The user's last successful sign-in, as impossible travel reads it."""

    country: str
    at: datetime


class DbCounts:
    """``trust.rules.risk.score.Counts`` for one user, with the rest of what
    weighing a sign-in reads from the database, in one ORM query (``_read``):
    the counts of the window's months, the last success, the bursts.
    """

    def __init__(self, user: Any, features: SignInFeatures) -> None:
        keys = _value_keys(features)
        # The stored form of this sign-in's values, digested once (the score
        # asks for each of them twice).
        self._digests = {(name, features.value(name)): stored for name, stored in keys}
        self._site: dict[tuple[str, str], int] = {}
        self._mine: dict[tuple[str, str], int] = {}
        self.last_success: LastSuccess | None = None
        self.bursts: list[datetime | None] = []  # ``password_throttle.unpaid``'s input
        since = decay.window_start(features.at)
        for owner, feature, value, count, at in _read(user, [*keys, *_COUNTER_KEYS], since):
            if feature == _LAST_SUCCESS and at is not None:
                self.last_success = LastSuccess(value, at)
            elif feature == _BURST:
                self.bursts.append(at)
            else:
                (self._site if owner is None else self._mine)[(feature, value)] = int(count)

    def _stored(self, feature: str, value: str) -> str:
        digest = self._digests.get((feature, value))
        return digest if digest is not None else _stored(feature, value)

    def population(self, feature: str, value: str) -> int:
        return self._site.get((feature, self._stored(feature, value)), 0)

    def population_total(self) -> int:
        return self._site.get((TOTAL, ""), 0)

    def population_distinct(self, feature: str) -> int:
        return self._site.get((DISTINCT, feature), 0)

    def population_users(self) -> int:
        return self._site.get((USERS, ""), 0)

    def user(self, feature: str, value: str) -> int:
        return self._mine.get((feature, self._stored(feature, value)), 0)

    def user_total(self) -> int:
        return self._mine.get((TOTAL, ""), 0)

    def user_distinct(self, feature: str) -> int:
        return self._mine.get((DISTINCT, feature), 0)


# The counter rows every score reads, beside the sign-in's own values.
_COUNTER_KEYS = (
    (TOTAL, ""),
    (USERS, ""),
    *((DISTINCT, feature) for feature in sorted(_DISTINCT_FEATURES)),
)


def _counts(
    user_id: Any, pairs: Iterable[tuple[str, str]], since: date
) -> QuerySet[RiskCount, tuple[Any, str, str, int]]:
    """(user_id or None, feature, value, sum over the months from ``since``)
    of the (feature, value) pairs, the site's and the user's.

    Two IN lists, features and values, on each partial unique index: the
    index is probed for every combination (a few hundred probes, most
    finding nothing, and the odd row of another pair that the caller never
    asks for). One exact arm a pair probed less but cost far more to build
    and compile in the ORM than it saved (docs/risk.md, "The wiring").
    """
    pairs = list(pairs)
    features = sorted({feature for feature, _ in pairs})
    values = sorted({value for _, value in pairs})
    # The owner in each arm, not around them: each arm then proves its
    # partial index's condition (``user_id IS NULL`` / ``IS NOT NULL``).
    site = Q(user__isnull=True, feature__in=features, value__in=values)
    mine = Q(user_id=user_id, feature__in=features, value__in=values)
    return (
        RiskCount.objects.filter(site | mine, month__gte=since)
        .values_list("user_id", "feature", "value")
        .annotate(total=Sum("count"))
        .order_by()
    )


# Rows of ``_read`` that are not counts (no count row has these names).
_LAST_SUCCESS = "*last-success"
_BURST = "*burst"
# The time column of the counts' rows.
_NO_TIME = Value(None, output_field=DateTimeField())


def _read(
    user: Any, pairs: Iterable[tuple[str, str]], since: date
) -> QuerySet[Any, tuple[Any, str, str, int, datetime | None]]:
    """``DbCounts``' one query: a ``UNION ALL`` of three indexed reads, each
    row (owner, feature, value, count, time), the feature telling them apart:

    - the counts (``_counts``);
    - the user's last successful sign-in (``_LAST_SUCCESS``, its country
      as the value: the partial index ``trust_signin_user_success``, one row);
    - the bursts on the user's names (``_BURST``: ``password_throttle.bursts_of``).

    One query, not three: on a shared machine each round trip to the
    database cost more than the reads themselves (docs/risk.md, "The wiring").
    """
    counts = _counts(user.pk, pairs, since).annotate(at=_NO_TIME)
    latest = (
        SignInAttempt.objects.filter(user_id=user.pk, outcome__in=SUCCESSFUL_OUTCOMES)
        .order_by("-at")
        .values("pk")[:1]
    )
    # A subquery, not a slice of the union's own arm (SQLite has no LIMIT there).
    last = (
        SignInAttempt.objects.filter(pk=Subquery(latest))
        .values_list("user_id", Value(_LAST_SUCCESS), "country", Value(0), "at")
        .order_by()
    )
    # ``user_id``: a column of the owner's type (any user model's key), not
    # read for a burst.
    bursts = (
        password_throttle.bursts_of(user)
        .values_list("user_id", Value(_BURST), Value(""), Value(0), "burst_at")
        .order_by()
    )
    return counts.union(last, bursts, all=True)  # type: ignore[arg-type]


# A row of ``RiskCount``: (user_id or None, feature, value, month).
RowKey = tuple[Any, str, str, date]


def _row_order(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return (key[0] is not None, key[0] or 0, *key[1:])


def _match(keys: Iterable[tuple[Any, ...]]) -> Q:
    """The rows of ``keys``: (owner, feature, value), with a month or not."""
    match = Q(pk__in=[])
    for owner, feature, value, *month in keys:
        mine = Q(user__isnull=True) if owner is None else Q(user_id=owner)
        match |= mine & Q(feature=feature, value=value, **({"month": month[0]} if month else {}))
    return match


def _add(deltas: dict[RowKey, int]) -> dict[RowKey, int]:
    """Add each delta to its row, a growing row created at 0 first, never
    below 0; return each row's count before.

    Race-safe on PostgreSQL and SQLite: the create is ``ON CONFLICT DO
    NOTHING``, the rows are locked in primary-key order before one
    ``UPDATE`` a delta, so parallel sign-ins wait for each other instead of
    deadlocking, and no change is lost.
    """
    wanted = {key: delta for key, delta in deltas.items() if delta}
    if not wanted:
        return {}
    RiskCount.objects.bulk_create(
        [
            RiskCount(user_id=u, feature=f, value=v, month=m, count=0)
            for u, f, v, m in sorted(wanted, key=_row_order)
            if wanted[(u, f, v, m)] > 0
        ],
        ignore_conflicts=True,
    )
    locked = list(
        RiskCount.objects.select_for_update()
        .filter(_match(wanted))
        .order_by("pk")
        .values_list("pk", "user_id", "feature", "value", "month", "count")
    )
    by_delta: dict[int, list[int]] = defaultdict(list)
    for pk, *key, _ in locked:
        by_delta[wanted[tuple(key)]].append(pk)  # type: ignore[index]
    for delta, pks in by_delta.items():
        RiskCount.objects.filter(pk__in=pks).update(count=Greatest(F("count") + delta, 0))
    return {(u, f, v, m): c for _, u, f, v, m, c in locked}


def _counter_of(owner: Any, feature: str) -> tuple[Any, str, str] | None:
    """The distinct counter a value row counts in (``None``: none):
    a value of a distinct feature, its owner's; a user's total, the site's users."""
    if feature in _DISTINCT_FEATURES:
        return (owner, DISTINCT, feature)
    if feature == TOTAL and owner is not None:
        return (None, USERS, "")
    return None


def _months_of(keys: list[tuple[Any, str, str]]) -> dict[tuple[Any, str, str], dict[date, int]]:
    """The months each (owner, feature, value) has a count in."""
    found: dict[tuple[Any, str, str], dict[date, int]] = defaultdict(dict)
    if keys:
        rows = (
            RiskCount.objects.filter(_match(keys), count__gt=0)
            .values_list("user_id", "feature", "value", "month", "count")
            .order_by()
        )
        for owner, feature, value, month, count in rows:
            found[(owner, feature, value)][month] = count
    return found


def _change(user_id: Any, pairs: Iterable[tuple[str, str]], month: date, delta: int) -> None:
    """Add ``delta`` (+1: a sign-in counted, -1: taken back) to the rows of
    one sign-in in ``month``, then move the distinct counters whose value's
    latest month changed (``decay.distinct_moves``)."""
    keys = [
        (None, TOTAL, ""),
        (user_id, TOTAL, ""),
        *((None, f, v) for f, v in pairs),
        *((user_id, f, v) for f, v in pairs),
    ]
    before = _add({(*key, month): delta for key in keys})
    # Only a row whose month went from or to nothing can change its value's
    # latest month: 0 before an increment, 1 before a decrement.
    empty = 0 if delta > 0 else 1
    changed = [
        key
        for key in keys
        if _counter_of(key[0], key[1]) is not None and before.get((*key, month)) == empty
    ]
    moves: dict[RowKey, int] = defaultdict(int)
    months = _months_of(changed)
    for key in changed:
        after = months.get(key, {})
        was = {**after, month: after.get(month, 0) - delta}
        counter = _counter_of(key[0], key[1])
        assert counter is not None
        for moved, step in decay.distinct_moves(was, after).items():
            moves[(*counter, moved)] += step
    _add(moves)


def count_success(user: Any, features: SignInFeatures) -> None:
    """Count one successful sign-in of ``user`` (``CountStore.add``, in rows)."""
    _count(user, _value_keys(features), decay.bucket(features.at))


def _count(user: Any, pairs: list[tuple[str, str]], month: date) -> None:
    """Count ``pairs`` (``_value_keys``) for ``user`` in ``month``."""
    with transaction.atomic():
        _change(user.pk, pairs, month, +1)


def uncount(attempts: QuerySet[SignInAttempt], now: datetime | None = None) -> int:
    """Take back what each of ``attempts`` added to the counts, the user's
    and the site's, exactly once each (a replayed or raced report finds it
    taken back: the conditional ``UPDATE`` waits for the other's commit,
    then matches nothing). Returns how many were taken back."""
    now = now or timezone.now()
    since = decay.window_start(now)
    taken = 0
    rows = attempts.filter(counted_in__isnull=False).values_list(
        "pk", "user_id", "counted_in", "counted"
    )
    for pk, user_id, month, pairs in list(rows):
        with transaction.atomic():
            if not SignInAttempt.objects.filter(pk=pk, counted_in__isnull=False).update(
                counted_in=None
            ):
                continue  # a parallel report took it back
            taken += 1
            if month is not None and month >= since:  # older months: not read, or gone
                _change(user_id, [(f, v) for f, v in pairs], month, -1)
    return taken


# --- the decision -----------------------------------------------------------


def weighed(request: HttpRequest) -> Weighed | None:
    """The risk model's view of this request's sign-in, if it weighed one."""
    return getattr(request, _ATTR, None)


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
    setattr(request, _ATTR, found)
    return found


def _shadowed(model: RiskDecision) -> RiskDecision:
    """What shadow mode enforces of the model's decision: nothing, but a burst
    of wrong passwords (which owes a code with the model switched off too)."""
    if risk_decision.PASSWORD_FAILURES in model.reasons:
        return RiskDecision(risk_decision.STEP_UP, (risk_decision.PASSWORD_FAILURES,), model.score)
    return RiskDecision(risk_decision.ALLOW, (), model.score)


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


def _score(user: Any, features: SignInFeatures, counts: DbCounts) -> Score:
    try:
        return score(features, counts)
    except (ArithmeticError, ValueError):  # SECURITY: never a 500; a NaN score owes a code
        logger.exception("risk score failed for user %s", user.pk)
        return Score(math.nan, 0)


def apply_to(
    request: HttpRequest,
    user: Any,
    assessment: policy.Assessment,
    fp: Fingerprint,
    device: TrustedDevice | None = None,
) -> policy.Assessment:
    """The device policy's assessment of a 2FA user's sign-in, with the risk
    model's word added: it can only take the recognition away, never give it.

    SECURITY: ``step_up`` makes even a recognized trusted device owe a code
    (the device stays trusted); ``deny`` refuses the sign-in (``begin``).
    Without the model, a burst of wrong passwords still owes a code.
    """
    recognized = device if assessment.recognized else None
    found = weigh(request, user, trusted_device=assessment.recognized, fp=fp, device=recognized)
    if found is None:
        return password_throttle.owe_code_after_burst(user, assessment)
    action, extra = found.decision.action, found.decision.reasons
    if not assessment.recognized:
        # A code is owed anyway: the device's reasons say why; the model's
        # go to the sign-in history (``decided``).
        return assessment
    if action == risk_decision.ALLOW:
        return assessment
    reasons = (*assessment.reasons, *(r for r in extra if r not in assessment.reasons))
    return policy.Assessment(False, reasons)


# --- the history ---------------------------------------------------------------


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


def blocked(request: HttpRequest | None) -> bool:
    """Is the client address in the site's block list?"""
    if request is None or not conf.RISK_ENABLED or conf.RISK_SHADOW:
        # Shadow mode: the sign-in goes on to be weighed, where the block
        # list's deny is recorded as what would have happened.
        return False
    block_list = conf.RISK_BLOCKED_NETWORKS
    return bool(block_list) and request_fingerprint(request).ip in block_list


def decided(
    request: HttpRequest, user: Any, outcome: str, reasons: Iterable[str]
) -> SignInAttempt | None:
    """After ``begin`` decided a weighed sign-in: its history row, its counts
    (when let in) and its alert. Returns the row (``None``: not weighed)."""
    found = weighed(request)
    if found is None:
        return None
    model = found.model or found.decision
    reasons = [*reasons, *(r for r in model.reasons if r not in reasons)]
    let_in = outcome == SignInOutcome.ALLOWED
    pairs = _value_keys(found.features) if let_in else None
    attempt = record_attempt(request, user, found, outcome, reasons, counted=pairs)
    if pairs is not None:
        _count(user, pairs, decay.bucket(found.features.at))
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
    pairs = _value_keys(features)
    month = decay.bucket(attempt.at)
    with transaction.atomic():
        updated = SignInAttempt.objects.filter(
            pk=attempt.pk, outcome=SignInOutcome.STEPPED_UP
        ).update(outcome=SignInOutcome.PASSED, counted_in=month, counted=pairs)
        if not updated:
            return  # a parallel request counted it already
        _count(user, pairs, month)
    _alert(request, user, list(attempt.reasons or []), passed=True)


def tie_to_device(request: HttpRequest, user: Any, device: TrustedDevice) -> None:
    """The session's sign-in trusted ``device``: a report about the device
    then reaches that sign-in too (``uncount``)."""
    session_id = _session_id(request)
    if session_id is not None:
        SignInAttempt.objects.filter(user=user, session_id=session_id, device=None).update(
            device=device
        )


def reported(user_id: Any, *, device: TrustedDevice | None, session: TrustedSession | None) -> int:
    """ "This wasn't me" about ``device`` or ``session``: take back the
    sign-ins it reaches (those that came with the device or that its code
    trusted, those of its live sessions, the session's own). Returns how
    many were taken back."""
    reach = Q(pk__in=[])
    if device is not None:
        sessions = TrustedSession.objects.filter(device=device).values_list("pk", flat=True)
        reach |= Q(device=device) | Q(session_id__in=list(sessions))
    if session is not None:
        reach |= Q(session_id=session.pk)
    # SECURITY: only the addressee's own history, whatever the ids say.
    return uncount(SignInAttempt.objects.filter(reach, user_id=user_id))


def _alert(request: HttpRequest, user: Any, reasons: list[str], *, passed: bool) -> None:
    """A new country, or an unusual sign-in that passed its code: an alert."""
    if risk_decision.NEW_COUNTRY in reasons:
        events.record(user, EventKind.NEW_COUNTRY, request=request, reasons=reasons)
    elif passed and any(r not in _DEVICE_REASONS for r in reasons):
        events.record(user, EventKind.RISKY_SIGN_IN_PASSED, request=request, reasons=reasons)


def prune(now: Any = None) -> int:
    """Drop sign-in history older than ``TRUST_SIGN_IN_HISTORY_MAX_AGE``."""
    now = now or timezone.now()
    deleted, _ = SignInAttempt.objects.filter(at__lt=now - conf.SIGN_IN_HISTORY_MAX_AGE).delete()
    return deleted


def prune_counts(now: Any = None) -> int:
    """Drop the risk counts of months no sign-in reads any more (``decay``)."""
    now = now or timezone.now()
    deleted, _ = RiskCount.objects.filter(month__lt=decay.window_start(now)).delete()
    return deleted
