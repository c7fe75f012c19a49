"""The simulated Internet: real address ranges and user agents.

Networks are found by drawing random public addresses and keeping those the
offline lookups place (country and ASN), so every simulated address is a
real one of its country and operator, weighted by address space. User
agents are real strings: the whole uap-core corpus when
``$TRUSTGATE_UA_CORPUS`` names it, else the sample in ``tests/data/``.
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
    def __init__(self, rng: random.Random, v4_draws: int, v6_draws: int) -> None:
        geo.warm()
        self.networks: list[Network] = []
        self.by_country: dict[str, dict[str, list[Network]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self.by_asn: dict[str, list[Network]] = defaultdict(list)
        for _ in range(v4_draws):
            base = rng.getrandbits(32) & ~0xFF
            self._keep(4, base, str(ipaddress.IPv4Address(base + 1)))
        for _ in range(v6_draws):
            block = rng.choice(_V6_BLOCKS)
            base = (block << 112) | (rng.getrandbits(48) << 64)
            self._keep(6, base, str(ipaddress.IPv6Address(base + 1)))
        # Home countries: those with a few operators to choose from.
        self.countries = [c for c, asns in self.by_country.items() if len(asns) >= 3]
        self.country_weights = [
            sum(len(n) for n in self.by_country[c].values()) for c in self.countries
        ]

    def _keep(self, version: int, base: int, probe: str) -> None:
        country, asn = geo.country_of(probe), geo.asn_of(probe)
        if country and asn:
            network = Network(version, base, country, asn)
            self.networks.append(network)
            self.by_country[country][asn].append(network)
            self.by_asn[asn].append(network)

    def home_country(self, rng: random.Random) -> str:
        return rng.choices(self.countries, self.country_weights)[0]

    def anywhere(self, rng: random.Random) -> Network:
        return rng.choice(self.networks)

    def abroad(self, rng: random.Random, home: str) -> Network:
        for _ in range(50):
            network = rng.choice(self.networks)
            if network.country != home:
                return network
        raise RuntimeError("no network outside the home country")

    def operator_in(self, rng: random.Random, country: str, exclude: str = "") -> str:
        asns = [a for a in self.by_country[country] if a != exclude] or list(
            self.by_country[country]
        )
        weights = [len(self.by_country[country][a]) for a in asns]
        return rng.choices(asns, weights)[0]

    def network_of(self, rng: random.Random, country: str, asn: str) -> Network:
        return rng.choice(self.by_country[country][asn])

    def in_country(self, rng: random.Random, country: str) -> Network:
        return self.network_of(rng, country, self.operator_in(rng, country))

    def in_asn(self, rng: random.Random, asn: str) -> Network:
        return rng.choice(self.by_asn[asn])

    def pool(self, rng: random.Random, country: str, asn: str, size: int) -> list[Network]:
        """A carrier's address pool as one user meets it: ``size`` neighbouring
        /24s (/64s) from one of the operator's networks, those the lookups
        still place in the same operator (carrier-grade NAT hands out
        addresses from blocks, not from anywhere in the operator's space)."""
        first = self.network_of(rng, country, asn)
        step = 1 << 8 if first.version == 4 else 1 << 64
        pool = [first]
        for i in range(1, size):
            base = first.base + i * step
            if first.version == 4 and base >= 1 << 32:
                break
            probe = str(
                ipaddress.IPv4Address(base + 1)
                if first.version == 4
                else ipaddress.IPv6Address(base + 1)
            )
            if geo.asn_of(probe) == asn and geo.country_of(probe) == country:
                pool.append(Network(first.version, base, country, asn))
        return pool


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
