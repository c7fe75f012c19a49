"""The risk model in the sign-in flow: counts, the decision, the history.

The pure model is ``trust.rules.risk``; this module gives it what it reads
(the request's features, the user's counts, their last successful sign-in,
a burst of wrong passwords) and keeps what it needs next time:

- ``RiskCount`` rows, incremented on each **successful** password sign-in
  (let in, or a code passed after a step-up), by atomic statements that
  take the rows' locks in one order (no deadlock between parallel sign-ins);
- ``SignInAttempt`` rows: every attempt past the username, with its outcome.

A sign-in is weighed once, in ``admission.begin``; the result is kept on
the request (``weighed``) for the history row written after the decision.
Only password sign-ins are weighed (``password_throttle.password_checked``):
a passkey alone, a remote user or ``force_login`` are not the model's.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connections, router, transaction
from django.db.models import DateTimeField, F, Q
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
)
from ..raw_rows import RowConverter
from ..rules import policy
from ..rules.fingerprint import Fingerprint
from ..rules.risk import decision as risk_decision
from ..rules.risk import geo
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


# Rows of ``DbCounts``' read that are not counts (no count row has these names).
_LAST_SUCCESS = "*last-success"
_BURST = "*burst"


@dataclass(frozen=True)
class LastSuccess:
    """The user's last successful sign-in, as impossible travel reads it."""

    country: str
    at: datetime


class DbCounts:
    """``trust.rules.risk.score.Counts`` for one user, with the rest of what
    weighing a sign-in reads from the database, in one statement (``_READ``).

    Why one: a query costs far more in the ORM, the driver and the round
    trip than in the index probes (docs/risk.md, "The wiring"), and the
    decision has a 2 ms budget.
    """

    def __init__(self, user: Any, features: SignInFeatures) -> None:
        keys = _value_keys(features)
        # The stored form of this sign-in's values, digested once (the score
        # asks for each of them twice).
        self._digests = {(name, features.value(name)): stored for name, stored in keys}
        self._site: dict[tuple[str, str], int] = {}
        self._mine: dict[tuple[str, str], int] = {}
        self.last_success: LastSuccess | None = None
        self.bursts: list[datetime] = []  # ``password_throttle.bursts_of``'s times
        for mine, feature, value, count, at in _read(user, keys):
            if feature == _LAST_SUCCESS:
                self.last_success = LastSuccess(value, at)
            elif feature == _BURST:
                self.bursts.append(at)
            else:
                (self._mine if mine else self._site)[(feature, value)] = count

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


# ``DbCounts``' statement: indexed reads, never a scan, as one UNION ALL of
# five columns (mine: the user's row, not the site's; feature, value, count,
# at), the feature telling the parts apart:
# - the counts: the exact (feature, value) pairs this sign-in needs (``k``:
#   its eight values, the totals, the distinct counters), joined to the two
#   partial unique indexes of ``RiskCount``, the site's then the user's: one
#   probe a pair. (Two IN lists, features and values, made PostgreSQL probe
#   every combination: 9 x 9 pairs for 9 rows, twice the execution time.)
# - the user's last successful sign-in (``last_success``; the partial index
#   ``trust_signin_user_success``, then the primary key: one row);
# - the bursts on the user's names (``password_throttle.bursts_of``; the
#   throttle's unique index: at most one row a name).
# - the outcomes that count as a success are written in, not bound, so that
#   even a plan made once for all users uses the partial index (``_literals``).
# Plain SQL, not the ORM: building and compiling this union took longer than
# running it (~1.3 ms against ~0.4 ms on the bench machine). Its text only
# depends on how many names the user has, so it is built once for each.
#
# On PostgreSQL the same statement is the function ``trust_risk_read``
# (migration 0013), which keeps its plan for the connection: planned on
# every sign-in, under Django's default binding, it cost more than it ran
# (docs/risk.md, "The wiring"). ``tests/test_risk_read.py`` holds the two
# to the same rows.
_READ = """
WITH k (f, v) AS (VALUES {pairs})
SELECT 0, r.feature, r.value, r.count, CAST(NULL AS {datetime})
  FROM k JOIN trust_riskcount r ON r.feature = k.f AND r.value = k.v
 WHERE r.user_id IS NULL
UNION ALL
SELECT 1, r.feature, r.value, r.count, NULL
  FROM k JOIN trust_riskcount r ON r.feature = k.f AND r.value = k.v
 WHERE r.user_id = %s
UNION ALL
SELECT 1, %s, country, 0, at
  FROM trust_signinattempt
 WHERE id = (SELECT id FROM trust_signinattempt
              WHERE user_id = %s AND outcome IN ({successes})
              ORDER BY at DESC {limit_1})
UNION ALL
SELECT 1, %s, '', 0, burst_at
  FROM trust_passwordthrottle
 WHERE scope = %s AND key IN ({keys}) AND burst_at IS NOT NULL
"""
# The counter rows every score reads, beside the sign-in's own values.
_COUNTER_KEYS = (
    (TOTAL, ""),
    (USERS, ""),
    *((DISTINCT, feature) for feature in sorted(_DISTINCT_FEATURES)),
)


def _read(user: Any, keys: list[tuple[str, str]]) -> list[tuple[Any, ...]]:
    connection = connections[router.db_for_read(RiskCount)]
    statement = _function_call if _has_function(connection.alias) else _plain_read
    sql, params = statement(
        connection.alias, user.pk, [*keys, *_COUNTER_KEYS], password_throttle.keys_of(user)
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return _READ_ROWS.rows(cursor.fetchall(), connection)


def _plain_read(
    alias: str, user_id: Any, pairs: list[tuple[str, str]], names: Iterable[str]
) -> tuple[str, list[Any]]:
    """``_READ`` and its parameters."""
    names = list(names)
    params = [
        *(part for pair in pairs for part in pair),
        user_id,
        _LAST_SUCCESS,
        user_id,
        _BURST,
        password_throttle.ACCOUNT,
        *names,
    ]
    return _read_sql(alias, len(pairs), len(names)), params


def _function_call(
    alias: str, user_id: Any, pairs: list[tuple[str, str]], names: Iterable[str]
) -> tuple[str, list[Any]]:
    """The call of ``trust_risk_read`` (PostgreSQL) and its parameters."""
    params = [
        user_id,
        # As written, not escaped: a database in another encoding (SQL_ASCII,
        # LATIN1) refuses JSON's \u escapes of characters beyond ASCII.
        json.dumps(pairs, ensure_ascii=False),
        json.dumps(list(names), ensure_ascii=False),
        password_throttle.ACCOUNT,
        _LAST_SUCCESS,
        _BURST,
    ]
    return _function_sql(alias), params


_FUNCTION = "trust_risk_read(anyelement, json, json, text, text, text)"


@functools.cache
def _has_function(alias: str) -> bool:
    """Whether this database has ``trust_risk_read`` and lets us run it:
    PostgreSQL, migrated (a test database a site builds without migrations
    has none), the function not revoked from the site's role. Otherwise the
    plain statement. Asked once per process and database."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        # NULL (no such function) or false (no right to run it): plain.
        cursor.execute("SELECT has_function_privilege(to_regprocedure(%s), 'EXECUTE')", [_FUNCTION])
        return bool(cursor.fetchone()[0])


@functools.cache
def _function_sql(alias: str) -> str:
    """The user's key is cast to the type of ``user_id``, which the
    function's ``anyelement`` then takes on (any user model's key)."""
    key_type = RiskCount._meta.get_field("user").db_type(connections[alias])
    call = f"trust_risk_read(CAST(%s AS {key_type}), %s, %s, %s, %s, %s)"
    return f"SELECT * FROM {call}"  # noqa: S608 (a column type of ours, no input)


@functools.cache
def _read_sql(alias: str, pairs: int, names: int) -> str:
    """``_READ`` for a database, a number of (feature, value) pairs and of
    user names."""
    connection = connections[alias]

    def marks(count: int) -> str:
        return ", ".join(["%s"] * count)

    return _READ.format(
        pairs=", ".join(["(%s, %s)"] * pairs),
        datetime=DateTimeField().db_type(connection),
        successes=_literals(SUCCESSFUL_OUTCOMES),
        limit_1=connection.ops.limit_offset_sql(0, 1),
        keys=marks(names),
    )


def _literals(constants: Iterable[str]) -> str:
    """Constants of ours written into the statement, not bound: a plan
    PostgreSQL keeps for a prepared statement must still see that they match
    the partial index's condition (bound, it read all of a user's rows)."""
    words = [str(constant) for constant in constants]
    if not all(re.fullmatch(r"[a-z_]+", word) for word in words):
        raise ValueError(f"not a plain word: {words}")
    return ", ".join(f"'{word}'" for word in words)


# The read's times as the ORM would give them (SQLite returns text).
_READ_ROWS = RowConverter(
    {4: SignInAttempt._meta.get_field("at").get_col(SignInAttempt._meta.db_table)}
)


def _increment(keys: Iterable[tuple[Any, str, str]]) -> dict[tuple[Any, str, str], int]:
    """Add one to each (user_id or None, feature, value) row, creating it at 0
    first; return each row's count before the increment.

    Race-safe on PostgreSQL and SQLite: the create is ``ON CONFLICT DO
    NOTHING``, the rows are locked in primary-key order before the one
    ``UPDATE ... SET count = count + 1``, so parallel sign-ins wait for each
    other instead of deadlocking, and no increment is lost.
    """
    wanted = sorted(set(keys), key=lambda k: (k[0] is not None, k[0] or 0, k[1], k[2]))
    if not wanted:
        return {}
    RiskCount.objects.bulk_create(
        [RiskCount(user_id=u, feature=f, value=v, count=0) for u, f, v in wanted],
        ignore_conflicts=True,
    )
    match = Q(pk__in=[])
    for user_id, feature, value in wanted:
        owner = Q(user__isnull=True) if user_id is None else Q(user_id=user_id)
        match |= owner & Q(feature=feature, value=value)
    locked = list(
        RiskCount.objects.select_for_update()
        .filter(match)
        .order_by("pk")
        .values_list("pk", "user_id", "feature", "value", "count")
    )
    RiskCount.objects.filter(pk__in=[row[0] for row in locked]).update(count=F("count") + 1)
    return {(u, f, v): c for _, u, f, v, c in locked}


def count_success(user: Any, features: SignInFeatures) -> None:
    """Count one successful sign-in of ``user`` (``CountStore.add``, in rows)."""
    keys = _value_keys(features)
    with transaction.atomic():
        before = _increment(
            [
                (None, TOTAL, ""),
                (user.pk, TOTAL, ""),
                *((None, f, v) for f, v in keys),
                *((user.pk, f, v) for f, v in keys),
            ]
        )
        # Values (and users) seen for the first time grow the distinct counters.
        second: list[tuple[Any, str, str]] = []
        for (owner, feature, _value), count in before.items():
            if count:
                continue
            if feature == TOTAL:
                if owner is not None:
                    second.append((None, USERS, ""))
            elif feature in _DISTINCT_FEATURES:
                second.append((owner, DISTINCT, feature))
        _increment(second)


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
    request: HttpRequest, user: Any, found: Weighed, outcome: str, reasons: Iterable[str]
) -> SignInAttempt:
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
    )


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
    attempt = record_attempt(request, user, found, outcome, reasons)
    if outcome == SignInOutcome.ALLOWED:
        count_success(user, found.features)
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
    updated = SignInAttempt.objects.filter(pk=attempt.pk, outcome=SignInOutcome.STEPPED_UP).update(
        outcome=SignInOutcome.PASSED
    )
    if not updated:
        return  # a parallel request counted it already
    fp = request_fingerprint(request)
    location = geo.locate(fp.ip, ipv4_prefix=conf.IPV4_PREFIX, ipv6_prefix=conf.IPV6_PREFIX)
    # The features of the request that completed the sign-in (same session).
    count_success(user, features_of(fp, raw_user_agent(request), attempt.at, location=location))
    _alert(request, user, list(attempt.reasons or []), passed=True)


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
