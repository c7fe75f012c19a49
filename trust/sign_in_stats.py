"""The sign-in history in numbers, for the admin's risk page: reads only.

Three reads of ``SignInAttempt`` over a period (every one a range of the
``trust_signin_at`` index):

- ``rates``: per day or week, how many sign-ins were let in, asked for a code
  or refused: one ``GROUP BY`` query with conditional counts.
- ``reason_counts``: per bucket, how often each reason came with a sign-in
  that was asked for a code or refused. The reasons are a JSON list on the
  row. JSON containment (``reasons__contains``) is not available on SQLite,
  and one query per reason would miss a site's own reasons (its signals name
  their own): so the asked and refused rows' reasons are read once, newest
  first, at most ``REASON_ROWS`` of them, and counted here. The rows read
  are the asked and refused ones only (a few in a hundred sign-ins), three
  short columns each; past the bound the page says the counts cover less
  than the period.
- ``what_if``: how many of the period's scored sign-ins had a score at or
  above a threshold, for the chosen one, today's and a curve of thresholds:
  one query of conditional counts.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, DateField, Q, QuerySet
from django.db.models.functions import TruncDay, TruncWeek
from django.utils import timezone

from .models import SignInAttempt, SignInOutcome

DAY, WEEK = "day", "week"
PERIODS = (7, 30, 90)  # days
REASON_ROWS = 20_000
ASKED = (SignInOutcome.STEPPED_UP, SignInOutcome.PASSED)
# The what-if's curve: thresholds from 0.001 to 1000, four to a power of ten
# (the score is a ratio of likelihoods: its scale is logarithmic).
CURVE = tuple(10 ** (k / 4) for k in range(-12, 13))


@dataclass(frozen=True)
class Bucket:
    """One day or week of sign-ins; ``signed_in`` + ``asked`` + ``denied`` is
    every sign-in whose password was right or never checked (a blocked
    address); ``wrong_password`` are the others."""

    start: date
    signed_in: int = 0
    asked: int = 0
    denied: int = 0
    wrong_password: int = 0

    @property
    def total(self) -> int:
        return self.signed_in + self.asked + self.denied

    @property
    def asked_share(self) -> float | None:
        return self.asked / self.total if self.total else None

    @property
    def denied_share(self) -> float | None:
        return self.denied / self.total if self.total else None


@dataclass(frozen=True)
class ReasonCounts:
    """Per reason: how many asked and refused sign-ins it came with, per
    bucket and over the period; ``complete``: false when only the newest
    ``REASON_ROWS`` rows were read (``covered_from``: the oldest bucket read)."""

    by_bucket: dict[str, dict[date, int]] = field(default_factory=dict)
    asked: Counter[str] = field(default_factory=Counter)
    denied: Counter[str] = field(default_factory=Counter)
    complete: bool = True
    covered_from: date | None = None

    @property
    def reasons(self) -> list[str]:
        """Every reason seen, the most frequent first."""
        totals = self.asked + self.denied
        return sorted(totals, key=lambda reason: (-totals[reason], reason))


@dataclass(frozen=True)
class WhatIf:
    """The share of scored sign-ins at or above a threshold."""

    scored: int
    threshold: float
    at_threshold: int
    today: float
    at_today: int
    curve: tuple[tuple[float, int], ...]

    @staticmethod
    def share(count: int, scored: int) -> float | None:
        return count / scored if scored else None


def period_start(days: int, now: datetime | None = None) -> datetime:
    """The start of the period of the last ``days`` days, today included:
    midnight (in the current time zone) ``days - 1`` days before today."""
    today = timezone.localdate(now or timezone.now())
    first = today - timedelta(days=days - 1)
    return datetime.combine(first, datetime.min.time(), tzinfo=timezone.get_current_timezone())


def bucket_starts(since: datetime, bucket: str, now: datetime | None = None) -> list[date]:
    """Every bucket's first day from ``since`` to today: the chart's x axis,
    the empty days included."""
    first = timezone.localdate(since)
    last = timezone.localdate(now or timezone.now())
    step = timedelta(days=1)
    if bucket == WEEK:  # weeks start on Monday, as TruncWeek's do
        first -= timedelta(days=first.weekday())
        step = timedelta(days=7)
    starts = []
    while first <= last:
        starts.append(first)
        first += step
    return starts


def _truncated(bucket: str) -> TruncDay | TruncWeek:
    if bucket == WEEK:
        return TruncWeek("at", output_field=DateField())
    return TruncDay("at", output_field=DateField())


def _period(since: datetime) -> QuerySet[SignInAttempt]:
    return SignInAttempt.objects.filter(at__gte=since)


def rates(since: datetime, bucket: str, now: datetime | None = None) -> list[Bucket]:
    """Each bucket's sign-ins by outcome, the empty ones included."""
    rows = (
        _period(since)
        .annotate(bucket=_truncated(bucket))
        .values("bucket")
        .annotate(
            signed_in=Count("pk", filter=Q(outcome=SignInOutcome.ALLOWED)),
            asked=Count("pk", filter=Q(outcome__in=ASKED)),
            denied=Count("pk", filter=Q(outcome=SignInOutcome.DENIED)),
            wrong_password=Count("pk", filter=Q(outcome=SignInOutcome.FAILED_PASSWORD)),
        )
        .order_by("bucket")
    )
    found = {row.pop("bucket"): row for row in rows}
    return [Bucket(start, **found.get(start, {})) for start in bucket_starts(since, bucket, now)]


def reason_counts(since: datetime, bucket: str, limit: int = REASON_ROWS) -> ReasonCounts:
    """How often each reason came with an asked or refused sign-in (see above)."""
    rows = (
        _period(since)
        .filter(Q(outcome__in=ASKED) | Q(outcome=SignInOutcome.DENIED))
        .annotate(bucket=_truncated(bucket))
        .order_by("-at", "-pk")
        .values_list("bucket", "outcome", "reasons")[: limit + 1]
    )
    by_bucket: dict[str, dict[date, int]] = defaultdict(Counter)
    asked: Counter[str] = Counter()
    denied: Counter[str] = Counter()
    oldest = None
    for read, (start, outcome, reasons) in enumerate(rows.iterator(chunk_size=2000)):
        if read == limit:  # one row past the bound: the period is not all read
            return ReasonCounts(dict(by_bucket), asked, denied, False, oldest)
        oldest = start
        tally = denied if outcome == SignInOutcome.DENIED else asked
        for reason in _reasons(reasons):
            by_bucket[reason][start] += 1
            tally[reason] += 1
    return ReasonCounts(dict(by_bucket), asked, denied, True, oldest)


def _reasons(stored: Any) -> Iterable[str]:
    """A row's reasons as distinct strings, whatever the JSON holds."""
    if not isinstance(stored, list):
        return ()
    return dict.fromkeys(str(reason) for reason in stored)


def what_if(
    since: datetime, threshold: float, today: float, curve: Sequence[float] = CURVE
) -> WhatIf:
    """How many of the period's scored sign-ins score at or above
    ``threshold``, ``today`` (the setting in force) and each of ``curve``.

    A threshold that is not a finite number (``inf``: the score never asks)
    counts none."""
    chosen = {"chosen": threshold, "today": today}
    chosen.update({f"curve_{index}": value for index, value in enumerate(curve)})
    counts: dict[str, Any] = {
        name: Count("pk", filter=Q(score__gte=value))
        for name, value in chosen.items()
        if math.isfinite(value)
    }
    found = _period(since).filter(score__isnull=False).aggregate(scored=Count("pk"), **counts)
    return WhatIf(
        scored=found["scored"],
        threshold=threshold,
        at_threshold=found.get("chosen", 0),
        today=today,
        at_today=found.get("today", 0),
        curve=tuple((value, found.get(f"curve_{i}", 0)) for i, value in enumerate(curve)),
    )
