"""The address ranges the offline ASN data assigns to named operators.

geoip2fast keeps its ASN table as sorted lists of (first address, prefix
length, operator id); this walks them once and keeps the ranges of the
operators asked for, each placed in a country by ``geo.locate`` (the
country the risk model itself will read). Reading the package's lists is a
benchmark's liberty: the product only ever calls ``geo.locate``.

The IPv6 helpers are pure: a home's delegated prefix (/56) inside its ISP's
range, rotated the way ISPs rotate them (a new /56, usually in the same
/48), and the /64 a home's devices use.
"""

from __future__ import annotations

import bisect
import ipaddress
import random
from dataclasses import dataclass, field

from trust.rules.risk import geo

V4_BITS, V6_BITS = 32, 128


@dataclass(frozen=True)
class Range:
    version: int
    first: int
    length: int  # prefix length

    @property
    def size(self) -> int:
        return 1 << ((V4_BITS if self.version == 4 else V6_BITS) - self.length)

    @property
    def last(self) -> int:
        return self.first + self.size - 1

    def __contains__(self, value: int) -> bool:
        return self.first <= value <= self.last


@dataclass
class Operator:
    """One operator's ranges in one country."""

    name: str
    country: str
    v4: list[Range] = field(default_factory=list)
    v6: list[Range] = field(default_factory=list)

    def sort(self) -> None:
        self.v4.sort(key=lambda r: r.first)
        self.v6.sort(key=lambda r: r.first)
        self._v4_firsts = [r.first for r in self.v4]
        self._v4_weights = [r.size for r in self.v4]
        # IPv6: weighted by /48s, capped, so one huge /19 does not hold them all.
        self._v6_weights = [min(r.size >> 80, 1 << 16) or 1 for r in self.v6]

    def owns_v4(self, value: int) -> bool:
        i = bisect.bisect_right(self._v4_firsts, value) - 1
        return i >= 0 and value in self.v4[i]

    def v4_network(self, rng: random.Random) -> int:
        """The first address of a /24 (or smaller range) of the operator."""
        r = rng.choices(self.v4, self._v4_weights)[0]
        if r.length >= 24:
            return r.first
        return r.first + (rng.randrange(r.size >> 8) << 8)

    def v6_block(self, rng: random.Random) -> int:
        """The first address of a /48 of the operator (of its range when smaller)."""
        r = rng.choices(self.v6, self._v6_weights)[0]
        if r.length >= 48:
            return r.first
        return r.first + (rng.randrange(r.size >> 80) << 80)

    def v6_range_of(self, value: int) -> Range | None:
        for r in self.v6:
            if value in r:
                return r
        return None


def operators(names: set[str]) -> dict[tuple[str, str], Operator]:
    """(country, name) -> the operator's ranges, for the names asked for
    (read once per process and set of names: the runs of both seeds share it)."""
    key = frozenset(names)
    if key not in _FOUND:
        _FOUND[key] = _operators(key)
    return _FOUND[key]


_FOUND: dict[frozenset[str], dict[tuple[str, str], Operator]] = {}


def _operators(names: frozenset[str]) -> dict[tuple[str, str], Operator]:
    import geoip2fast.geoip2fast as data  # loaded by geo.warm()

    geo.warm()
    wanted = {i for i, name in enumerate(data.mainListNamesASN) if name in names}
    found: dict[tuple[str, str], Operator] = {}
    chunks = zip(
        data.mainListFirstIPASN, data.mainListIDASN, data.mainListNetlengthASN, strict=True
    )
    for firsts, ids, lengths in chunks:
        for first, asn_id, length in zip(firsts, ids, lengths, strict=True):
            if asn_id not in wanted:
                continue
            version = 4 if first <= 0xFFFFFFFF else 6
            probe = (
                ipaddress.IPv4Address(first + 1)
                if version == 4
                else ipaddress.IPv6Address(first + 1)
            )
            country = geo.locate(str(probe)).country
            if not country:
                continue
            name = data.mainListNamesASN[asn_id]
            operator = found.get((country, name))
            if operator is None:
                operator = found[(country, name)] = Operator(name, country)
            (operator.v4 if version == 4 else operator.v6).append(Range(version, first, length))
    for operator in found.values():
        operator.sort()
    return found


# --- IPv6 homes: delegated prefixes and their rotation (pure) ---------------

PREFIX_56 = 1 << 72  # addresses in a /56
BLOCK_48 = 1 << 80  # addresses in a /48


def home_prefix(rng: random.Random, block48: int) -> int:
    """A home's delegated /56 inside the /48 ``block48``."""
    return (block48 & ~(BLOCK_48 - 1)) + rng.randrange(256) * PREFIX_56


def rotate_prefix(rng: random.Random, prefix56: int, isp_range: Range, move: float) -> int:
    """The home's next delegated /56: another /56 of the same /48, or (with
    probability ``move``, a re-homing to another aggregation router) a /56
    of another /48 of the ISP's own range. Never outside ``isp_range``."""
    if rng.random() < move and isp_range.length < 48:
        block = isp_range.first + rng.randrange(isp_range.size // BLOCK_48) * BLOCK_48
    else:
        block = prefix56 & ~(BLOCK_48 - 1)
    candidate = home_prefix(rng, block)
    if candidate == prefix56:
        candidate = (prefix56 & ~(BLOCK_48 - 1)) + ((prefix56 // PREFIX_56 + 1) % 256) * PREFIX_56
    if candidate not in isp_range:  # an ISP range smaller than a /48
        return prefix56
    return candidate


def lan_network(prefix56: int, subnet: int = 0) -> int:
    """The /64 the home router hands its LAN: one subnet of the /56."""
    return prefix56 + (subnet % 256) * (1 << 64)
