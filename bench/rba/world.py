"""The simulated Internet: real operators' address ranges, and user agents.

Homes and mobile carriers come from a table of consumer ISPs per country
(``bench.rba.isps``), their addresses from the ranges the offline ASN data
assigns to them (``bench.rba.ranges``), so every simulated address is a
real one of its operator and users are spread by users, not by address
space. The current browsers are generated (``bench.rba.browsers``); the
parser corpus (the whole uap-core corpus when ``$TRUSTGATE_UA_CORPUS`` names
it, else the sample in ``tests/data/``) is still read by ``Agents``.
"""

from __future__ import annotations

import ipaddress
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from tests.data import user_agent_corpus
from trust.rules.fingerprint import DESKTOP, MOBILE, TABLET, clean_user_agent, parse_agent
from trust.rules.risk import geo

from . import isps, ranges

# Regional registries' IPv6 blocks the draw samples from.
_V6_BLOCKS = (0x2A00, 0x2400, 0x2600, 0x2800, 0x2C00)


@dataclass(frozen=True)
class Network:
    version: int
    base: int  # first address of the /24 or /64
    country: str
    asn: str

    def address(self, rng: random.Random) -> str:
        if self.version == 4:
            return str(ipaddress.IPv4Address(self.base + rng.randrange(1, 255)))
        return str(ipaddress.IPv6Address(self.base + rng.getrandbits(64)))


class World:
    """Homes, carriers and servers, drawn from the operators' real ranges.

    Consumer networks come from the ISP table (``bench.rba.isps``), weighted
    by users; hosting and VPN exits from the hosting operators' ranges;
    "anywhere" (a naive attacker, a thief abroad) from random public
    addresses the lookups place, weighted by address space as before.
    """

    def __init__(self, rng: random.Random, v4_draws: int = 20_000, v6_draws: int = 2_000) -> None:
        geo.warm()
        found = ranges.operators(isps.home_operators() | set(isps.HOSTING))
        self.table = isps.by_code()
        self.fixed: dict[str, list[tuple[ranges.Operator, float]]] = defaultdict(list)
        self.mobile: dict[str, list[tuple[ranges.Operator, float]]] = defaultdict(list)
        for country in isps.COUNTRIES:
            for name, share in country.fixed:
                op = found.get((country.code, name))
                if op is not None and op.v4:
                    self.fixed[country.code].append((op, share))
            for name, share in country.mobile:
                op = found.get((country.code, name))
                if op is not None and op.v4:
                    self.mobile[country.code].append((op, share))
        hosting = set(isps.HOSTING)
        self.hosting: dict[str, list[ranges.Operator]] = defaultdict(list)
        for (code, name), op in found.items():
            if name in hosting and op.v4:
                self.hosting[code].append(op)
        self.by_name: dict[str, list[ranges.Operator]] = defaultdict(list)
        for op in found.values():
            self.by_name[op.name].append(op)
        self.countries = [c.code for c in isps.COUNTRIES if self.fixed[c.code]]
        self.country_weights = [self.table[c].users_m for c in self.countries]
        # Random public addresses the lookups place: the rest of the world.
        self.networks: list[Network] = []
        for _ in range(v4_draws):
            base = rng.getrandbits(32) & ~0xFF
            self._keep(4, base, str(ipaddress.IPv4Address(base + 1)))
        for _ in range(v6_draws):
            block = rng.choice(_V6_BLOCKS)
            base = (block << 112) | (rng.getrandbits(48) << 64)
            self._keep(6, base, str(ipaddress.IPv6Address(base + 1)))

    def _keep(self, version: int, base: int, probe: str) -> None:
        where = geo.locate(probe)
        if where.country and where.asn:
            self.networks.append(Network(version, base, where.country, where.asn))

    # -- homes ------------------------------------------------------------
    def home_country(self, rng: random.Random) -> str:
        return rng.choices(self.countries, self.country_weights)[0]

    def fixed_isp(
        self, rng: random.Random, country: str, exclude: tuple[str, ...] = ()
    ) -> ranges.Operator:
        return _choose(rng, self.fixed[country], exclude)

    def carrier(
        self, rng: random.Random, country: str, exclude: tuple[str, ...] = ()
    ) -> ranges.Operator:
        return _choose(rng, self.mobile[country] or self.fixed[country], exclude)

    def consumer(
        self, rng: random.Random, country: str, exclude: tuple[str, ...] = ()
    ) -> ranges.Operator:
        """A home ISP or a mobile carrier of ``country``, by users (a sign-in
        is about as often mobile as fixed)."""
        if self.mobile[country] and rng.random() < 0.5:
            return self.carrier(rng, country, exclude)
        return self.fixed_isp(rng, country, exclude)

    def v4(self, rng: random.Random, op: ranges.Operator) -> Network:
        return Network(4, op.v4_network(rng), op.country, op.name)

    # -- the interface the simulator and its attackers use ----------------
    def anywhere(self, rng: random.Random) -> Network:
        return rng.choice(self.networks)

    def abroad(self, rng: random.Random, home: str) -> Network:
        for _ in range(50):
            network = rng.choice(self.networks)
            if network.country != home:
                return network
        raise RuntimeError("no network outside the home country")

    def consumer_abroad(self, rng: random.Random, home: str) -> Network:
        """A hotel's or a friend's line: a consumer network of another country."""
        others = [c for c in self.countries if c != home]
        country = rng.choices(others, [self.table[c].users_m for c in others])[0]
        return self.v4(rng, self.fixed_isp(rng, country))

    def operator_in(self, rng: random.Random, country: str, exclude: str = "") -> str:
        return self.consumer(rng, country, (exclude,)).name

    def _operator(self, country: str, asn: str) -> ranges.Operator:
        for op in self.by_name[asn]:
            if op.country == country:
                return op
        return self.by_name[asn][0]

    def network_of(self, rng: random.Random, country: str, asn: str) -> Network:
        return self.v4(rng, self._operator(country, asn))

    def in_country(self, rng: random.Random, country: str) -> Network:
        return self.v4(rng, self.consumer(rng, country))

    def in_asn(self, rng: random.Random, asn: str, country: str = "") -> Network:
        ops = [op for op in self.by_name[asn] if not country or op.country == country]
        return self.v4(rng, rng.choice(ops or self.by_name[asn]))

    def hosting_in(self, rng: random.Random, country: str) -> Network:
        """A hosting or commercial-VPN exit in ``country`` (elsewhere if the
        data places none there)."""
        ops = self.hosting.get(country) or [op for c in self.hosting.values() for op in c]
        return self.v4(rng, rng.choices(ops, [len(op.v4) for op in ops])[0])

    def hosting_anywhere(self, rng: random.Random) -> Network:
        country = rng.choice(sorted(self.hosting))
        return self.hosting_in(rng, country)

    def same_block(self, rng: random.Random, home: Network) -> Network:
        """Another /24 of the home's /16 that its operator announces: a
        residential proxy next door (falls back to the home's own /24)."""
        ops = [op for op in self.by_name[home.asn] if op.country == home.country]
        block = home.base & ~0xFFFF
        for _ in range(64):
            base = block + (rng.randrange(256) << 8)
            if base != home.base and any(op.owns_v4(base) for op in ops):
                return Network(4, base, home.country, home.asn)
        return home

    def pool(self, rng: random.Random, country: str, asn: str, size: int) -> list[Network]:
        """A carrier's address pool as one user meets it: ``size`` neighbouring
        /24s of one of the operator's ranges (carrier-grade NAT hands out
        addresses from blocks, not from anywhere in the operator's space)."""
        op = self._operator(country, asn)
        first = self.v4(rng, op)
        pool = [first]
        for i in range(1, size):
            base = first.base + i * 256
            if base < 1 << 32 and op.owns_v4(base):
                pool.append(Network(4, base, first.country, asn))
        return pool

    def v6_pool(self, rng: random.Random, op: ranges.Operator, size: int) -> list[int]:
        """A mobile carrier's IPv6 pool as one user meets it: ``size``
        neighbouring /48s (each session gets a /64 from one of them)."""
        if not op.v6:
            return []
        first = op.v6_block(rng)
        r = op.v6_range_of(first)
        return [
            first + i * ranges.BLOCK_48
            for i in range(size)
            if r is not None and first + i * ranges.BLOCK_48 in r
        ]


def _choose(
    rng: random.Random, options: list[tuple[ranges.Operator, float]], exclude: tuple[str, ...]
) -> ranges.Operator:
    kept = [(op, share) for op, share in options if op.name not in exclude] or options
    return rng.choices([op for op, _ in kept], [share for _, share in kept])[0]


class Agents:
    """Real user agents, grouped by what trust.rules.fingerprint makes of them."""

    def __init__(self, path: Path | None = None) -> None:
        path = path or user_agent_corpus()
        self.source = path.name
        self.available = path.exists()
        self.by_kind: dict[str, list[str]] = {DESKTOP: [], MOBILE: [], TABLET: []}
        self.family: dict[tuple[str, str, str], list[str]] = defaultdict(list)
        self.family_of: dict[str, tuple[str, str, str]] = {}
        if not self.available:
            return
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            ua = clean_user_agent(line, 512)
            if not ua:
                continue
            agent = parse_agent(ua)
            if agent.device_class not in self.by_kind or "Other" in (agent.browser, agent.os):
                continue
            key = (agent.browser, agent.os, agent.device_class)
            self.by_kind[agent.device_class].append(ua)
            self.family[key].append(ua)
            self.family_of[ua] = key

    def pick(self, rng: random.Random, kind: str) -> str:
        return rng.choice(self.by_kind[kind])

    def anyone(self, rng: random.Random) -> str:
        kind = rng.choices((DESKTOP, MOBILE, TABLET), (0.5, 0.4, 0.1))[0]
        return self.pick(rng, kind)

    def update(self, rng: random.Random, ua: str) -> str:
        """The same browser on the same OS, another version (a browser update)."""
        return rng.choice(self.family[self.family_of[ua]])
