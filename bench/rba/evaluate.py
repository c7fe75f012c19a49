"""Replay the simulated months through the risk model and measure it.

Sign-ins are replayed in time order through one ``CountStore``: each
legitimate sign-in is scored against the counts as they are at that moment,
then counted (it succeeds, after a code when one is asked). When a user's
history reaches 1, 5, 20 and 40 sign-ins, that sign-in is measured, and so
is one attack of each model against the user, at a time between the user's
last sign-in and this one. Attacks are never counted.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, replace

from trust.rules.fingerprint import Agent, clean_user_agent, parse_agent
from trust.rules.risk import geo
from trust.rules.risk.counts import CountStore
from trust.rules.risk.decision import (
    ALLOW,
    NEW_DEVICE_COUNTRY,
    RiskContext,
    Thresholds,
    decide,
)
from trust.rules.risk.features import BLOCK, SignInFeatures, user_agent_digest

from .population import DAY, SignIn, User, at, make_user, sign_ins
from .world import Agents, World

HISTORY_SIZES = (1, 5, 20, 40)
ATTACKS = ("naive", "vpn", "targeted", "very_targeted", "thief")
LEGIT = "legitimate"
LIFETIME = 30 * DAY  # TRUST_LIFETIME's default
IDLE = 14 * DAY  # TRUST_IDLE_TIMEOUT's default
COOKIE_CLEARED = 0.04  # share of sign-ins where the browser lost its cookies
# The rules that never depend on a threshold: travel, blocked, failures.
NO_SCORE = Thresholds(
    step_up=float("inf"),
    new_country_on_trusted=False,
    new_asn_step_up=False,
    new_network_step_up=False,
    new_country_on_device=False,
)


@dataclass(frozen=True)
class Sample:
    who: str
    history: int
    two_factor: bool
    cookie: bool  # a valid trusted-device cookie came with it
    score: float
    rules: bool  # a rule beside the score asked for a code (travel, blocked, failures)
    new_country: bool
    new_asn: bool
    new_block: bool  # an address block (/16, /48) new to the user
    new_device_country: bool  # a country the trusted device was never used in
    users: int  # users with history on the site then (the score waits for min_users)


@dataclass
class Run:
    users: int
    sign_ins: int
    samples: list[Sample]
    features: list[SignInFeatures]
    store: CountStore
    agents_available: bool


class _Features:
    """Features per (user agent, IP), from lookups memoized per agent and per IP."""

    def __init__(self) -> None:
        self._agents: dict[str, tuple[Agent, str]] = {}
        self._where: dict[str, geo.Location] = {}

    def __call__(self, ua: str, ip: str, t: float) -> SignInFeatures:
        agent = self._agents.get(ua)
        if agent is None:
            agent = self._agents[ua] = (
                parse_agent(clean_user_agent(ua, 512)),
                user_agent_digest(ua),
            )
        where = self._where.get(ip)
        if where is None:
            where = geo.locate(ip)
            if len(self._where) < 1_000_000:
                self._where[ip] = where
        return SignInFeatures(
            ip=where.ip,
            network=where.network,
            asn=where.asn,
            country=where.country,
            user_agent=agent[1],
            browser=agent[0].browser,
            os=agent[0].os,
            device_class=agent[0].device_class,
            at=at(t),
            block=where.block,
        )


def simulate(users: int, days: float, seed: int, v4_draws: int, v6_draws: int) -> Run:
    rng = random.Random(seed)
    world = World(rng, v4_draws, v6_draws)
    agents = Agents()
    if not agents.available:
        raise SystemExit("SKIPPED: no user-agent corpus (tests/data/user_agents.txt)")
    people = [make_user(rng, world, agents, uid, days) for uid in range(users)]
    events: list[SignIn] = []
    for person in people:
        events.extend(sign_ins(rng, world, agents, person, days))
    events.sort(key=lambda e: e.t)
    feats = _Features()
    store = CountStore()
    last: dict[int, tuple[str, float]] = {}
    measured: set[tuple[int, int]] = set()
    samples: list[Sample] = []
    scored: list[SignInFeatures] = []
    for event in events:
        person, device = event.user, event.device
        history = store.user_totals.get(person.id, 0)
        cleared = device.kind != "mobile" and rng.random() < COOKIE_CLEARED
        cookie = (
            not cleared
            and event.t - device.cookie_issued < LIFETIME
            and event.t - device.cookie_used < IDLE
        )
        features = feats(device.ua, event.ip, event.t)
        if history in HISTORY_SIZES and (person.id, history) not in measured:
            measured.add((person.id, history))
            previous = last[person.id]
            used_in = frozenset(device.countries) if cookie else frozenset()
            samples.append(
                _measure(LEGIT, features, history, person, cookie, previous, store, used_in)
            )
            scored.append(features)
            t_attack = previous[1] + (event.t - previous[1]) * rng.random()
            for attack in ATTACKS:
                ua, ip = _attack(rng, world, agents, attack, person, device.ua)
                hostile = feats(ua, ip, t_attack)
                thief = attack == "thief"  # holds the victim's cookie
                used_in = frozenset(device.countries) if thief else frozenset()
                samples.append(
                    _measure(attack, hostile, history, person, thief, previous, store, used_in)
                )
        store.add(person.id, features)
        if cookie:
            device.cookie_used = event.t
        else:  # the code was passed: the device is trusted anew
            device.cookie_issued = device.cookie_used = event.t
            device.countries = set()
        device.countries.add(features.country)  # as the trusted device's record keeps them
        last[person.id] = (features.country, event.t)
    return Run(users, len(events), samples, scored, store, agents.available)


def _attack(
    rng: random.Random, world: World, agents: Agents, attack: str, victim: User, ua: str
) -> tuple[str, str]:
    if attack == "naive":
        return agents.anyone(rng), world.anywhere(rng).address(rng)
    if attack == "vpn":
        return agents.anyone(rng), world.in_country(rng, victim.country).address(rng)
    if attack == "targeted":
        return ua, world.in_country(rng, victim.country).address(rng)
    if attack == "very_targeted":
        return ua, world.in_asn(rng, victim.home_asn).address(rng)
    return ua, world.abroad(rng, victim.country).address(rng)  # the cookie thief


def _measure(
    who: str,
    features: SignInFeatures,
    history: int,
    person: User,
    cookie: bool,
    previous: tuple[str, float],
    store: CountStore,
    device_countries: frozenset[str],
) -> Sample:
    from trust.rules.risk.score import score

    result = score(features, store.view(person.id))
    context = RiskContext(
        features=features,
        score=result,
        trusted_device=cookie,
        previous_country=previous[0],
        previous_at=at(previous[1]),
        device_countries=device_countries,
    )
    decision = decide(context, thresholds=NO_SCORE)
    on_device = decide(context, thresholds=replace(NO_SCORE, new_country_on_device=True))
    return Sample(
        who,
        history,
        person.two_factor,
        cookie,
        result.value,
        decision.action != ALLOW,
        "new_country" in decision.reasons,
        "new_asn" in decision.reasons,
        history > 0 and bool(features.block) and BLOCK in result.unseen,
        NEW_DEVICE_COUNTRY in on_device.reasons,
        result.users or 0,
    )


def stopped(sample: Sample, mode: str, limits: Thresholds) -> bool:
    """Was this sign-in asked for a code (or refused) in ``mode``?"""
    device = not sample.cookie
    if mode == "device":
        return device
    trusted = sample.cookie and mode == "both"
    by_score = sample.users >= limits.min_users and sample.score >= (
        limits.trusted_step_up if trusted else limits.step_up
    )
    risk = (
        sample.rules
        or (sample.history > 0 and by_score)
        or (trusted and limits.new_country_on_trusted and sample.new_country)
        or (not trusted and limits.new_asn_step_up and sample.new_asn and sample.history > 0)
        or (not trusted and limits.new_network_step_up and sample.new_block)
        or (trusted and limits.new_country_on_device and sample.new_device_country)
    )
    return risk if mode == "score" else device or risk


MODES = (
    ("device", "device recognition alone (2FA users)", True),
    ("score", "score alone (users without 2FA)", False),
    ("both", "both (2FA users)", True),
)


def rates(run: Run, limits: Thresholds) -> dict[tuple[str, int, str], tuple[float, int]]:
    """Share stopped, and the sample size, per (who, history, mode)."""
    hits: dict[tuple[str, int, str], list[int]] = defaultdict(lambda: [0, 0])
    for sample in run.samples:
        for mode, _, two_factor in MODES:
            if sample.two_factor != two_factor:
                continue
            cell = hits[(sample.who, sample.history, mode)]
            cell[0] += stopped(sample, mode, limits)
            cell[1] += 1
    return {key: (n / total if total else 0.0, total) for key, (n, total) in hits.items()}
