"""Replay the simulated months through the risk model and measure it.

Sign-ins are replayed in time order through one ``CountStore``: each
legitimate sign-in is scored against the counts as they are at that moment,
then counted (it succeeds, after a code when one is asked). When a user's
history reaches 1, 5, 20 and 40 sign-ins, that sign-in is measured, and so
is one attack of each model against the user, at a time between the user's
last sign-in and this one. Attacks are never counted. Every device's first
sign-in after its browser updated is measured too (``UPDATE``).
"""

from __future__ import annotations

import ipaddress
import random
from collections import defaultdict
from dataclasses import dataclass, replace

from trust.rules.fingerprint import Agent, clean_user_agent, parse_agent
from trust.rules.risk import geo
from trust.rules.risk.counts import CountStore
from trust.rules.risk.decision import (
    ALLOW,
    NEW_DEVICE_COUNTRY,
    NEW_DEVICE_NETWORK,
    RiskContext,
    Thresholds,
    decide,
)
from trust.rules.risk.features import BLOCK, SignInFeatures, short_digest, user_agent_digest

from .browsers import Browsers
from .population import DAY, Device, SignIn, User, at, make_user, roams, sign_ins
from .world import World

HISTORY_SIZES = (1, 5, 20, 40)
ATTACKS = ("naive", "vpn", "targeted", "very_targeted", "thief")
# The attackers a real adversary uses (``_adversary``): a residential proxy
# in the victim's /16 on the victim's ISP, a hosting or VPN exit in the
# victim's country with the victim's browser, and the cookie thief in the
# victim's country on another ISP.
ADVERSARIES = ("proxy_block", "hosting", "thief_home")
# The victim's mobile carrier over IPv6 with the victim's user agent (a
# proxy on a phone of the same carrier): drawn from its own random stream,
# so adding it moves no other row. Only victims whose carrier has IPv6.
CARRIER6 = "carrier_v6"
ALL_ATTACKS = (*ATTACKS, *ADVERSARIES, CARRIER6)
HOLDS_COOKIE = frozenset({"thief", "thief_home"})
LEGIT = "legitimate"
LEGIT_ROAMING = "legitimate_roaming"  # LEGIT, on a laptop that roams (home, office, cafés)
UPDATE = "browser_update"  # a device's first sign-in after its browser updated
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
    new_network_on_device=False,
)
MAX_DEVICE_ASNS = 16  # the operators a trusted device's record keeps (trust.flows.risk)


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
    via: str = ""  # legitimate sign-ins: how they connect (home v4, mobile v6...)
    roaming: bool = False  # a legitimate sign-in on a roaming laptop (also LEGIT_ROAMING)
    # A trusted device on an operator it never used, in a block new to the
    # user (``new_network_on_device``, reason ``new_device_network``).
    new_device_network: bool = False
    # What "the device's own history" could mean otherwise (``device_history``).
    new_device_asn: bool = False  # an operator the trusted device never used
    new_device_block: bool = False  # an address block the trusted device was never in


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


def simulate(
    users: int, days: float, seed: int, v4_draws: int = 20_000, v6_draws: int = 2_000
) -> Run:
    rng = random.Random(seed)
    world = World(rng, v4_draws, v6_draws)
    agents = Browsers()
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
        kept = _Kept.of(device) if cookie else _Kept()
        roaming = roams(person, device)
        if event.updated and history >= HISTORY_SIZES[0]:
            bucket = max(h for h in HISTORY_SIZES if h <= history)
            previous = last[person.id]
            sample = _measure(UPDATE, features, bucket, person, cookie, previous, store, kept)
            samples.append(replace(sample, via=event.via))
        if history in HISTORY_SIZES and (person.id, history) not in measured:
            measured.add((person.id, history))
            previous = last[person.id]
            sample = _measure(LEGIT, features, history, person, cookie, previous, store, kept)
            samples.append(replace(sample, via=event.via, roaming=roaming))
            scored.append(features)
            t_attack = previous[1] + (event.t - previous[1]) * rng.random()
            for attack in ALL_ATTACKS:
                if attack == CARRIER6:
                    if not person.mobile6:
                        continue
                    side = random.Random(seed * 1_000_003 + person.id * 64 + history)
                    ua, ip = device.ua, _carrier_v6(side, world, person)
                elif attack in ADVERSARIES:
                    ua, ip = _adversary(rng, world, attack, person, device.ua)
                else:
                    ua, ip = _attack(rng, world, agents, attack, person, device.ua, t_attack)
                hostile = feats(ua, ip, t_attack)
                # A thief holds the victim's cookie (a valid one: otherwise the
                # copy is worth nothing), and so the device's record.
                thief = attack in HOLDS_COOKIE
                stolen = _Kept.of(device) if thief else _Kept()
                samples.append(
                    _measure(attack, hostile, history, person, thief, previous, store, stolen)
                )
        store.add(person.id, features)
        if cookie:
            device.cookie_used = event.t
        else:  # the code was passed: the device is trusted anew
            trusted_anew(device, event.t)
        remember(device, features)
        last[person.id] = (features.country, event.t)
    return Run(users, len(events), samples, scored, store, agents.available)


def _attack(
    rng: random.Random,
    world: World,
    agents: Browsers,
    attack: str,
    victim: User,
    ua: str,
    t: float = 0.0,
) -> tuple[str, str]:
    day = t / DAY
    if attack == "naive":
        return agents.anyone(rng, day), world.anywhere(rng).address(rng)
    if attack == "vpn":  # a commercial VPN's exit in the victim's country
        return agents.anyone(rng, day), world.hosting_in(rng, victim.country).address(rng)
    if attack == "targeted":
        return ua, world.in_country(rng, victim.country).address(rng)
    if attack == "very_targeted":
        return ua, world.in_asn(rng, victim.home_asn, victim.country).address(rng)
    return ua, world.abroad(rng, victim.country).address(rng)  # the cookie thief


def _carrier_v6(rng: random.Random, world: World, victim: User) -> str:
    """An address of a /64 anywhere in the victim's carrier's IPv6 space."""
    operator = world._operator(victim.country, victim.carrier)
    base = operator.v6_block(rng) + (rng.getrandbits(16) << 64)
    return str(ipaddress.IPv6Address(base + rng.getrandbits(64)))


def _adversary(
    rng: random.Random, world: World, attack: str, victim: User, ua: str
) -> tuple[str, str]:
    """The attackers of a real adversary, all with the victim's exact user agent."""
    if attack == "proxy_block":  # a residential proxy next door: same ISP, same /16
        return ua, world.same_block(rng, victim.home).address(rng)
    if attack == "hosting":  # a server or VPN exit in the victim's country
        return ua, world.hosting_in(rng, victim.country).address(rng)
    # The cookie thief at home: the password, a copied trusted-device
    # cookie, the victim's country, another ISP or carrier than the victim's.
    mine = (victim.home_asn, victim.carrier)
    return ua, world.v4(rng, world.consumer(rng, victim.country, mine)).address(rng)


def trusted_anew(device: Device, t: float) -> None:
    """A new cookie for the device, and its record starts over.

    ``trust.flows.trusting`` carries the record of a live trust the browser
    still presents; a cleared cookie or one past its lifetime presents none.
    An idle one might: starting over then asks a little more, not less."""
    device.cookie_issued = device.cookie_used = t
    device.countries, device.asns, device.blocks = set(), [], set()


def remember(device: Device, features: SignInFeatures) -> None:
    """Add a sign-in's country, operator and block to the device's record, as
    the trusted device's record keeps them (``trust.flows.risk``'s
    ``remember_origin`` and ``with_asn``: the operator's ``short_digest``,
    latest last, the oldest dropped past the cap)."""
    device.countries.add(features.country)
    if features.asn:
        token = short_digest(features.asn)
        kept = [a for a in device.asns if a != token]
        device.asns = [*kept, token][-MAX_DEVICE_ASNS:]
    if features.block:
        device.blocks.add(features.block)


@dataclass(frozen=True)
class _Kept:
    """What a trusted device's record holds when its cookie is presented
    (empty: no valid cookie)."""

    countries: frozenset[str] = frozenset()
    asns: frozenset[str] = frozenset()  # short_digests, as RiskContext.device_asns
    blocks: frozenset[str] = frozenset()

    @classmethod
    def of(cls, device: Device) -> _Kept:
        return cls(frozenset(device.countries), frozenset(device.asns), frozenset(device.blocks))


def _measure(
    who: str,
    features: SignInFeatures,
    history: int,
    person: User,
    cookie: bool,
    previous: tuple[str, float],
    store: CountStore,
    kept: _Kept,
) -> Sample:
    from trust.rules.risk.score import score

    result = score(features, store.view(person.id))
    context = RiskContext(
        features=features,
        score=result,
        trusted_device=cookie,
        previous_country=previous[0],
        previous_at=at(previous[1]),
        device_countries=kept.countries,
        device_asns=kept.asns,
    )
    decision = decide(context, thresholds=NO_SCORE)
    on_device = decide(context, thresholds=replace(NO_SCORE, new_country_on_device=True))
    on_network = decide(context, thresholds=replace(NO_SCORE, new_network_on_device=True))
    operator = short_digest(features.asn) if features.asn else ""
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
        # The rule names itself unless the country is new to the user (then
        # new_country says it): count it when it asks, or changes the action.
        new_device_network=NEW_DEVICE_NETWORK in on_network.reasons
        or on_network.action != decision.action,
        new_device_asn=cookie and bool(kept.asns) and operator not in kept.asns,
        new_device_block=cookie and bool(kept.blocks) and features.block not in kept.blocks,
    )


DEVICE = "device"  # no valid trusted-device cookie: device recognition asks


def reasons(sample: Sample, mode: str, limits: Thresholds) -> list[str]:
    """Every rule that asks this sign-in for a code in ``mode`` (empty: let in)."""
    found: list[str] = []
    if mode != "score" and not sample.cookie:
        found.append(DEVICE)
    if mode == "device":
        return found
    trusted = sample.cookie and mode == "both"
    if sample.rules:
        found.append("impossible_travel")
    by_score = sample.users >= limits.min_users and sample.score >= (
        limits.trusted_step_up if trusted else limits.step_up
    )
    if sample.history > 0 and by_score:
        found.append("risk_score")
    if trusted and limits.new_country_on_trusted and sample.new_country:
        found.append("new_country")
    if not trusted and limits.new_asn_step_up and sample.new_asn and sample.history > 0:
        found.append("new_asn")
    if not trusted and limits.new_network_step_up and sample.new_block:
        found.append("new_block")
    if trusted and limits.new_country_on_device and sample.new_device_country:
        found.append("new_device_country")
    if trusted and limits.new_network_on_device and sample.new_device_network:
        found.append(NEW_DEVICE_NETWORK)
    return found


def stopped(sample: Sample, mode: str, limits: Thresholds) -> bool:
    """Was this sign-in asked for a code (or refused) in ``mode``?"""
    return bool(reasons(sample, mode, limits))


def attribution(
    run: Run, limits: Thresholds
) -> dict[tuple[str, int, str], dict[str, tuple[float, float]]]:
    """Per (who, history, mode): for each reason, the share of sign-ins it
    asks, and the share it alone asks (no other rule would have)."""
    counts: dict[tuple[str, int, str], dict[str, list[int]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0])
    )
    totals: dict[tuple[str, int, str], int] = defaultdict(int)
    for sample in run.samples:
        for mode, _, two_factor in MODES:
            if sample.two_factor != two_factor:
                continue
            found = reasons(sample, mode, limits)
            for who in rows_of(sample):
                key = (who, sample.history, mode)
                totals[key] += 1
                for reason in found:
                    cell = counts[key][reason]
                    cell[0] += 1
                    cell[1] += len(found) == 1
    return {
        key: {r: (a / totals[key], b / totals[key]) for r, (a, b) in by_reason.items()}
        for key, by_reason in counts.items()
    }


def by_connection(
    run: Run, limits: Thresholds, who: str, min_history: int
) -> dict[str, tuple[float, float, dict[str, float]]]:
    """Legitimate sign-ins of users without 2FA by how they connect: the
    share of them, the share asked, and the share each reason asks."""
    groups: dict[str, list[Sample]] = defaultdict(list)
    for sample in run.samples:
        if sample.who == who and not sample.two_factor and sample.history >= min_history:
            groups[sample.via].append(sample)
    total = sum(len(g) for g in groups.values()) or 1
    out: dict[str, tuple[float, float, dict[str, float]]] = {}
    for via, group in sorted(groups.items(), key=lambda item: -len(item[1])):
        asked = 0
        per: dict[str, int] = defaultdict(int)
        for sample in group:
            found = reasons(sample, "score", limits)
            asked += bool(found)
            for reason in found:
                per[reason] += 1
        n = len(group)
        out[via] = (n / total, asked / n, {r: c / n for r, c in per.items()})
    return out


MODES = (
    ("device", "device recognition alone (2FA users)", True),
    ("score", "score alone (users without 2FA)", False),
    ("both", "both (2FA users)", True),
)


def rows_of(sample: Sample) -> tuple[str, ...]:
    """The rows a sample counts in: its own, and the roaming laptop's (a
    part of the legitimate row, shown on its own too)."""
    return (sample.who, LEGIT_ROAMING) if sample.roaming else (sample.who,)


def rates(run: Run, limits: Thresholds) -> dict[tuple[str, int, str], tuple[float, int]]:
    """Share stopped, and the sample size, per (who, history, mode)."""
    hits: dict[tuple[str, int, str], list[int]] = defaultdict(lambda: [0, 0])
    for sample in run.samples:
        for mode, _, two_factor in MODES:
            if sample.two_factor != two_factor:
                continue
            asked = stopped(sample, mode, limits)
            for who in rows_of(sample):
                cell = hits[(who, sample.history, mode)]
                cell[0] += asked
                cell[1] += 1
    return {key: (n / total if total else 0.0, total) for key, (n, total) in hits.items()}
