"""The risk score of Freeman et al. (NDSS 2016), as Wiefling et al. (ACM
TOPS 2022) evaluated it: docs/risk.md has the equations and their sources.

Pure: a sign-in's features and a ``Counts`` in, a ``Score`` out. ``Counts``
is the only way in to history, one count at a time, so that the database
implementation is a handful of indexed reads of rows kept up to date on
each successful sign-in (never a scan of the sign-in history):

    S(x) = p(u|A) / p(u|L) · Π_groups p(x_g) / p(x_g | u, L)

with each group's probability smoothed over its hierarchy (IP, network,
ASN, country; user agent, browser, OS, device class).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .features import (
    ASN,
    BLOCK,
    BROWSER,
    COUNTRY,
    DEVICE_CLASS,
    IP,
    NETWORK,
    OS,
    USER_AGENT,
    SignInFeatures,
)

# Each group: its levels from the finest to the coarsest, with the weight of
# each level in the interpolation. IP, ASN and country keep Wiefling's
# 0.6/0.3/0.1 split, the /24 (/64) network taking a quarter of the IP's
# share; the user-agent weights are Wiefling's (the TOPS paper's data set),
# on families rather than versions (trust.rules.fingerprint keeps no version).
IP_GROUP: tuple[tuple[str, float], ...] = ((IP, 0.45), (NETWORK, 0.15), (ASN, 0.3), (COUNTRY, 0.1))
AGENT_GROUP: tuple[tuple[str, float], ...] = (
    (USER_AGENT, 0.5386653840551359),
    (BROWSER, 0.2680451498625666),
    (OS, 0.18818295100109536),
    (DEVICE_CLASS, 0.0051065150812021525),
)
GROUPS = (IP_GROUP, AGENT_GROUP)
# The name of each group's factor in ``Score.factors`` (its finest level's name).
GROUP_NAMES = tuple(levels[0][0] for levels in GROUPS)
# p(u|A) / p(u|L)'s name in ``Score.factors``.
USER_FACTOR = "user"
# A group the user has never seen at any level: p(x_g | u, L) = p(x_g) / 4
# (Wiefling's reference, ``get_unseen_values``).
UNSEEN_DIVISOR = 4.0
# Counted and compared with the user's history, but not in the score.
UNSCORED = (BLOCK,)


class Counts(Protocol):
    """Counts of successful sign-ins, for the whole site and for one user.

    Every method is one indexed read (or one kept counter): a row per
    (feature, value) for the site, a row per (user, feature, value) for the
    user, and per-feature counters of distinct values.
    """

    def population(self, feature: str, value: str) -> int: ...
    def population_total(self) -> int: ...
    def population_distinct(self, feature: str) -> int: ...
    def population_users(self) -> int: ...
    def user(self, feature: str, value: str) -> int: ...
    def user_total(self) -> int: ...
    def user_distinct(self, feature: str) -> int: ...


@dataclass(frozen=True)
class Score:
    value: float  # Freeman's S: above 1, the sign-in looks more like an attack
    history: int  # the user's successful sign-ins it was measured against
    unseen: frozenset[str] = field(default_factory=frozenset)  # features new to the user
    country_share: float = 0.0  # the user's successful sign-ins from this country, a share
    users: int | None = None  # users with history on the site (None: not counted)
    # Each factor of the product, in order: ("user", p(u|A)/p(u|L)), then one
    # per group (named for its finest level: "ip", "user_agent"); their
    # product is ``value``. What support staff read to explain a prompt.
    factors: tuple[tuple[str, float], ...] = ()
    # Per level: (level, population term p0, user term c_u/N_u or 0): the
    # parts of each group's sums, for the same explanation.
    terms: tuple[tuple[str, float, float], ...] = ()

    @property
    def log10(self) -> float:
        return math.log10(self.value) if self.value > 0 else -math.inf


def _smoothed(count: int, total: int, unseen: int) -> float:
    """Freeman's estimate with room for unseen values (Wiefling's ``p_0``)."""
    if count > 0:
        return count / (total + unseen)
    return 1.0 / (total + unseen)


def _unseen_slots(levels: Sequence[tuple[str, float]], index: int, distinct: dict[str, int]) -> int:
    """How many values a level has not seen yet: the distinct values of every
    coarser level, plus one (Wiefling's ``M_hk``, the recursion unrolled)."""
    return 1 + sum(distinct[name] for name, _ in levels[index + 1 :])


def _group_likelihood(
    levels: Sequence[tuple[str, float]],
    count: dict[str, int],
    total: int,
    distinct: dict[str, int],
) -> float:
    """The population side: every level smoothed (Wiefling's ``p_linear``)."""
    return sum(
        weight * _smoothed(count[name], total, _unseen_slots(levels, i, distinct))
        for i, (name, weight) in enumerate(levels)
    )


def _user_likelihood(
    levels: Sequence[tuple[str, float]],
    count: dict[str, int],
    total: int,
    population: float,
) -> float:
    """The user side: unsmoothed, as Wiefling's code has it, so a value seen
    once counts for more than one never seen. A group none of whose levels
    the user has seen gets a quarter of the population's likelihood, as in
    the reference (``get_unseen_values``: global / 4): the group's factor is
    then 4 whatever the population's counts, so an origin nobody on the site
    has used never scores below one that others use (docs/risk.md).
    """
    seen = sum(weight * count[name] / total for name, weight in levels if count[name] > 0)
    if seen > 0:
        return seen
    return population / UNSEEN_DIVISOR


def score(features: SignInFeatures, counts: Counts) -> Score:
    """Freeman's risk score of a sign-in against the user's history.

    With no history, there is nothing to compare with: the score is 0 and
    ``history`` says so (the rules beside the score still apply).
    """
    history = counts.user_total()
    if history <= 0:
        return Score(0.0, 0)
    population = max(counts.population_total(), history)
    users = max(counts.population_users(), 1)
    user_factor = (1.0 / users) / (history / population)  # p(u|A) / p(u|L)
    value = user_factor
    factors: list[tuple[str, float]] = [(USER_FACTOR, user_factor)]
    terms: list[tuple[str, float, float]] = []
    unseen: set[str] = set()
    mine: dict[str, int] = {}
    for levels in GROUPS:
        names = [name for name, _ in levels]
        pop_count = {n: counts.population(n, features.value(n)) for n in names}
        user_count = {n: counts.user(n, features.value(n)) for n in names}
        pop_distinct = {n: counts.population_distinct(n) for n in names[1:]}
        mine.update(user_count)
        unseen.update(n for n in names if user_count[n] == 0)
        p_x = _group_likelihood(levels, pop_count, population, pop_distinct)
        p_x_u = _user_likelihood(levels, user_count, history, p_x)
        factor = p_x / p_x_u
        value *= factor
        factors.append((names[0], factor))
        terms.extend(
            (
                name,
                _smoothed(pop_count[name], population, _unseen_slots(levels, i, pop_distinct)),
                user_count[name] / history,
            )
            for i, name in enumerate(names)
        )
    # Only once the user's history has the feature at all (history counted
    # before it was a feature says nothing about it).
    unseen.update(
        n
        for n in UNSCORED
        if counts.user_distinct(n) > 0 and counts.user(n, features.value(n)) == 0
    )
    return Score(
        value,
        history,
        frozenset(unseen),
        mine[COUNTRY] / history,
        users,
        tuple(factors),
        tuple(terms),
    )
