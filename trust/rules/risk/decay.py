"""How the risk counts forget: month buckets and a window of them.

Pure: dates in, dates out. Each count row belongs to the month of the
sign-ins it counts (``bucket``); a sign-in's score sums the buckets from
``window_start`` on, and ``trust_prune`` deletes older ones. So history
older than the window stops counting (Wiefling et al., "Pump Up Password
Security!", found six months cost the score little), a read is still a few
index probes a value, and no count is ever recomputed from the history.

Distinct-value counters follow the same window: a value is counted in the
distinct counter of the **latest** month it has a count in, so the sum of a
counter's buckets over the window is the number of values seen in the
window. When a value's latest month changes (first sign-in with it in a
new month; the last count of its latest month taken back), its one unit
moves (``distinct_moves``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime

# Full months kept before the current one: a sign-in is weighed against
# between six and seven months of history.
WINDOW_MONTHS = 6


def bucket(at: datetime) -> date:
    """The month a sign-in at ``at`` is counted in (its first day, UTC)."""
    day = at.astimezone(UTC).date() if at.tzinfo is not None else at.date()
    return day.replace(day=1)


def months_before(month: date, months: int) -> date:
    """The first day of the month ``months`` before ``month``'s."""
    index = month.year * 12 + (month.month - 1) - months
    return date(index // 12, index % 12 + 1, 1)


def window_start(now: datetime) -> date:
    """The oldest month whose counts a sign-in at ``now`` still reads."""
    return months_before(bucket(now), WINDOW_MONTHS)


def latest(months: Mapping[date, int]) -> date | None:
    """The latest month with a count, if any."""
    return max((month for month, count in months.items() if count > 0), default=None)


def distinct_moves(before: Mapping[date, int], after: Mapping[date, int]) -> dict[date, int]:
    """How one value's unit in its distinct counter moves when its counts
    per month go from ``before`` to ``after``: month -> +1 / -1 (empty:
    its latest month did not change)."""
    old, new = latest(before), latest(after)
    if old == new:
        return {}
    moves: dict[date, int] = {}
    if old is not None:
        moves[old] = -1
    if new is not None:
        moves[new] = moves.get(new, 0) + 1
    return moves
