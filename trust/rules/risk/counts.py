"""Counts of successful sign-ins kept in memory: the reference ``Counts``.

The tests and ``python -m bench.rba`` use it; the database implementation
keeps the same numbers in rows (one per feature value for the site, one per
user and feature value), updated by ``add`` on each successful sign-in.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable

from .features import FEATURES, SignInFeatures


class CountStore:
    """Site-wide and per-user counts, incremented one sign-in at a time."""

    def __init__(self) -> None:
        self.total = 0
        self.values: Counter[tuple[str, str]] = Counter()
        self.distinct: Counter[str] = Counter()
        self.user_totals: Counter[Hashable] = Counter()
        self.user_values: defaultdict[Hashable, Counter[tuple[str, str]]] = defaultdict(Counter)
        self.user_distinct: defaultdict[Hashable, Counter[str]] = defaultdict(Counter)

    def add(self, user: Hashable, features: SignInFeatures) -> None:
        """Count one successful sign-in of ``user``."""
        self.total += 1
        self.user_totals[user] += 1
        mine = self.user_values[user]
        for name in FEATURES:
            key = (name, features.value(name))
            if self.values[key] == 0:
                self.distinct[name] += 1
            self.values[key] += 1
            if mine[key] == 0:
                self.user_distinct[user][name] += 1
            mine[key] += 1

    def view(self, user: Hashable) -> UserCounts:
        return UserCounts(self, user)


class UserCounts:
    """``Counts`` as seen for one user (``trust.rules.risk.score.Counts``)."""

    def __init__(self, store: CountStore, user: Hashable) -> None:
        self._store = store
        self._user = user

    def population(self, feature: str, value: str) -> int:
        return self._store.values.get((feature, value), 0)

    def population_total(self) -> int:
        return self._store.total

    def population_distinct(self, feature: str) -> int:
        return self._store.distinct.get(feature, 0)

    def population_users(self) -> int:
        return len(self._store.user_totals)

    def user(self, feature: str, value: str) -> int:
        mine = self._store.user_values.get(self._user)
        return 0 if mine is None else mine.get((feature, value), 0)

    def user_total(self) -> int:
        return self._store.user_totals.get(self._user, 0)

    def user_distinct(self, feature: str) -> int:
        mine = self._store.user_distinct.get(self._user)
        return 0 if mine is None else mine.get(feature, 0)
