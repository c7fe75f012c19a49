"""The risk model's counts: what a sign-in is weighed against.

``RiskCount`` rows, one a month (``trust.rules.risk.decay``), incremented on
each **successful** password sign-in (let in, or a code passed after a
step-up), by atomic statements that take the rows' locks in one order (no
deadlock between parallel sign-ins), and decremented once if the user
reports the sign-in ("this wasn't me": ``reported``, ``uncount``). The read
(``DbCounts``) also brings the user's last successful sign-in and the bursts
of wrong passwords on their names, in the same query.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.db.models import DateTimeField, F, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from ..digests import keyed_digest
from ..models import SUCCESSFUL_OUTCOMES, RiskCount, SignInAttempt, TrustedDevice, TrustedSession
from ..rules.risk import decay
from ..rules.risk.features import BLOCK, FEATURES, IP, NETWORK, SignInFeatures
from ..rules.risk.score import GROUPS, UNSCORED
from . import password_throttle

# Bookkeeping rows beside the value rows (their feature names are not features).
TOTAL = "*total"  # successful sign-ins (site: all; user: theirs)
DISTINCT = "*distinct"  # distinct values seen, one row per feature (value = its name)
USERS = "*users"  # site only: users with at least one successful sign-in
# Features whose distinct values are counted (site and user): the coarser
# levels of each hierarchy (the score's smoothing), and those counted but not
# scored (the rules ask whether the user has any history of them).
DISTINCT_FEATURES = frozenset((*(name for levels in GROUPS for name, _ in levels[1:]), *UNSCORED))


# --- what is stored -----------------------------------------------------------


def _stored(feature: str, value: str) -> str:
    """The value as kept in ``RiskCount``: addresses, networks and blocks as
    keyed digests (privacy: the counts hold no address), everything bounded."""
    if feature in (IP, NETWORK, BLOCK) and value:
        return keyed_digest("trust.risk.count", f"{feature}:{value}")[:32]
    return value[:80]


def value_keys(features: SignInFeatures) -> list[tuple[str, str]]:
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
        keys = value_keys(features)
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
    *((DISTINCT, feature) for feature in sorted(DISTINCT_FEATURES)),
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
    if feature in DISTINCT_FEATURES:
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
    add_success(user, value_keys(features), decay.bucket(features.at))


def add_success(user: Any, pairs: list[tuple[str, str]], month: date) -> None:
    """Count ``pairs`` (``value_keys``) for ``user`` in ``month``."""
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


def prune(now: Any = None) -> int:
    """Drop the risk counts of months no sign-in reads any more (``decay``)."""
    now = now or timezone.now()
    deleted, _ = RiskCount.objects.filter(month__lt=decay.window_start(now)).delete()
    return deleted
