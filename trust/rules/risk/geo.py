"""Where an address is: its country and its network (autonomous system), offline.

One source answers both (``geodata``), so they never disagree:

- by default, the data shipped in the ``geoip2fast`` package (MaxMind's
  GeoLite2 of June 2024: no network call, no licence key). It names the
  operator (``"GOOGLE"``), not the AS number: the name stands in for the
  number, so all networks an operator registers under one name are one
  "ASN" here;
- when the site loaded MMDB files (``manage.py trust_geo_load`` into
  ``TRUST_GEOIP_DIR``: GeoLite2, DB-IP Lite or IPinfo Lite; docs/geo.md),
  the country and the AS number (``"AS3320"``) come from those.

The source loads once per process, lazily, behind a lock (the shipped file
takes ~1 s; call ``warm()`` at start-up to keep it off the first sign-in);
each public address is looked up once (an LRU cache).

Private, loopback, link-local, reserved and otherwise non-global addresses
are ``UNKNOWN``, and so is anything that is not an address: a lookup never
raises.
"""

from __future__ import annotations

import ipaddress
import threading
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from ..fingerprint import Address, address_network, parse_ip
from . import geodata

UNKNOWN = ""

# Operator names are the attacker's to choose only as far as they control a
# registry entry; they are still cut to a bounded length before storage.
ASN_MAX_LENGTH = 64

_source: geodata.Source | None = None
_problem = ""  # why the site's files are not in use, "" when they are (or none are set)
_directory: str | None = None
_lock = threading.Lock()


@dataclass(frozen=True)
class Location:
    """What the address says about where a sign-in comes from."""

    ip: str  # canonical text, "" when not an address
    network: str  # /24 or /64 as CIDR text, "" when not an address
    asn: str  # "AS3320" (the operator's name with the shipped data), UNKNOWN when not known
    country: str  # ISO 3166-1 alpha-2, UNKNOWN when not known
    block: str = ""  # the address block (/16, /40) as CIDR text, "" when not an address


# The address block: coarser than the network, finer than most operators. A
# carrier hands a user addresses from a few neighbouring networks of one
# block; an attacker elsewhere in the same operator is in another one. On
# IPv6 a phone's successive /64s lie in several neighbouring /48s of its
# carrier, and a home's rotated /56 may leave its /48: a /40 (256 /48s)
# keeps them in one block while a carrier's or ISP's /32 (or larger) still
# holds hundreds (docs/risk.md, "Defaults": /48 to /32 measured).
BLOCK_IPV4_PREFIX = 16
BLOCK_IPV6_PREFIX = 40


_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the well-known NAT64 prefix (RFC 6052)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a transition address carries (6to4, Teredo's client,
    NAT64), which no registry's table delegates under its IPv6 form."""
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _placed(address: Address) -> Address:
    """The address the lookups should place: ``address``, or the IPv4 it carries."""
    if isinstance(address, ipaddress.IPv6Address):
        return _embedded_ipv4(address) or address
    return address


def _public(address: Address | None) -> str:
    """The placed address in canonical form when it is public and routable, else ""."""
    if address is None:
        return ""
    placed = _placed(address)
    # SECURITY: is_global is False for private, loopback, link-local,
    # shared (100.64/10), documentation and reserved ranges: none of them
    # says where the client is, and a lookup table may still "find" them.
    return str(placed) if placed.is_global else ""


def is_local(ip: str | None) -> bool:
    """Is ``ip`` an address of the site's own networks (private, loopback,
    link-local, shared 100.64/10, unique local)? Behind a configured proxy no
    remote client can appear with one; no table places it, and that says
    nothing about the client. Anything else no table places (6to4 relays,
    unallocated space, no address at all) is unknown, not local."""
    address = parse_ip(ip)
    if address is None:
        return False
    if isinstance(address, ipaddress.IPv6Address) and _embedded_ipv4(address) is not None:
        return False  # reached through public relays: never the site's own network
    return bool(
        address.is_private or address.is_loopback or address.is_link_local or address in _SHARED
    )


_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)


def use_directory(directory: str | None) -> None:
    """Read the data loaded into ``directory`` (``TRUST_GEOIP_DIR``; None: the
    shipped data) from the next lookup on. ``TrustConfig.ready()`` calls it."""
    global _directory, _source, _problem
    with _lock:
        _directory = directory or None
        _source, _problem = None, ""
        _place.cache_clear()


def _loaded() -> geodata.Source:
    global _source, _problem
    source = _source
    if source is None:
        with _lock:
            if _source is None:
                _source, _problem = geodata.load(_directory)
            source = _source
    return source


def warm() -> None:
    """Load the data now (~1 s for the shipped file) rather than on the first lookup."""
    _loaded()


@dataclass(frozen=True)
class DataInUse:
    name: str  # the source, e.g. "MaxMind (GeoLite2-ASN, GeoLite2-Country)"
    built: datetime | None  # when its (oldest) file was built, None if unknown
    numbers: bool  # AS numbers (True) or operator names standing in for them
    loaded: bool  # the site's own files (True) or the shipped data
    problem: str  # why the site's files are not in use, "" when they are or none are set


def data_in_use() -> DataInUse:
    """What this process looks addresses up in (for the system check)."""
    source = _loaded()
    return DataInUse(
        name=source.name,
        built=source.built,
        numbers=source.numbers,
        loaded=isinstance(source, geodata.MmdbSet),
        problem=_problem,
    )


@lru_cache(maxsize=8192)
def _place(address: str) -> tuple[str, str]:
    """(country, ASN) of a public address in canonical text; UNKNOWN for either."""
    if not address:
        return UNKNOWN, UNKNOWN
    try:
        country, asn = _loaded().place(address)
    except Exception:  # a data-file or reader problem must not become a 500
        return UNKNOWN, UNKNOWN
    country = geodata.country_code(country)
    asn = asn[:ASN_MAX_LENGTH] if isinstance(asn, str) else UNKNOWN
    return country, asn


def country_of(ip: str | None) -> str:
    """ISO 3166-1 alpha-2 country the address is placed in, or UNKNOWN."""
    return _place(_public(parse_ip(ip)))[0]


def asn_of(ip: str | None) -> str:
    """The autonomous system the address is announced by ("AS3320"; the
    operator's name with the shipped data), or UNKNOWN."""
    return _place(_public(parse_ip(ip)))[1]


def locate(ip: str | None, *, ipv4_prefix: int = 24, ipv6_prefix: int = 64) -> Location:
    """Everything the risk model reads from an address. Total: never raises."""
    address = parse_ip(ip)  # once: a sign-in's address is read here five ways
    if address is None:
        return Location(ip="", network="", asn=UNKNOWN, country=UNKNOWN, block="")
    country, asn = _place(_public(address))
    return Location(
        ip=str(address),
        network=address_network(address, ipv4_prefix, ipv6_prefix),
        asn=asn,
        country=country,
        block=address_network(address, BLOCK_IPV4_PREFIX, BLOCK_IPV6_PREFIX),
    )
