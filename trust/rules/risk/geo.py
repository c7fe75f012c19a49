"""Where an address is: its country and its network operator (ASN), offline.

Pure lookups over data shipped in packages, no network call, no licence key:

- country: ``iptocc`` (the five RIRs' delegation files, refreshed nightly
  upstream; IPv4 and IPv6; ~0.2 µs a lookup, data embedded in the wheel);
- ASN: ``geoip2fast`` (its "Country + ASN, IPv4 and IPv6" file; ~20 µs a
  lookup, ~0.3 s to load, so it is loaded once per process, lazily, behind a
  lock: call ``warm()`` at start-up to keep the load off the first sign-in).
  It names the operator (``"GOOGLE"``), not the AS number: the name is the
  feature's value.

Private, loopback, link-local, reserved and otherwise non-global addresses
are ``UNKNOWN``, and so is anything that is not an address: a lookup never
raises.
"""

from __future__ import annotations

import ipaddress
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..fingerprint import Address, address_network, parse_ip

UNKNOWN = ""

# The ASN names are the attacker's to choose only as far as they control a
# registry entry; they are still cut to a bounded length before storage.
ASN_MAX_LENGTH = 64

_asn_db: Any = None
_asn_lock = threading.Lock()
_ASN_FILE = "geoip2fast-asn-ipv6.dat.gz"


@dataclass(frozen=True)
class Location:
    """What the address says about where a sign-in comes from."""

    ip: str  # canonical text, "" when not an address
    network: str  # /24 or /64 as CIDR text, "" when not an address
    asn: str  # operator name, UNKNOWN when not known
    country: str  # ISO 3166-1 alpha-2, UNKNOWN when not known
    block: str = ""  # the address block (/16, /48) as CIDR text, "" when not an address


# The address block: coarser than the network, finer than most operators. A
# carrier hands a user addresses from a few neighbouring networks of one
# block; an attacker elsewhere in the same operator is in another one.
BLOCK_IPV4_PREFIX = 16
BLOCK_IPV6_PREFIX = 48


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


def country_of(ip: str | None) -> str:
    """ISO 3166-1 alpha-2 country the address is delegated to, or UNKNOWN."""
    return _country_of_public(_public(parse_ip(ip)))


def _country_of_public(address: str) -> str:
    if not address:
        return UNKNOWN
    try:
        import iptocc

        code = iptocc.country_code(address)
    except Exception:  # a lookup bug must not become a 500
        return UNKNOWN
    if not isinstance(code, str) or len(code) != 2 or not code.isalpha():
        return UNKNOWN
    return code.upper()


def _load_asn_db() -> Any:
    global _asn_db
    if _asn_db is None:
        with _asn_lock:
            if _asn_db is None:
                import geoip2fast

                path = os.path.join(os.path.dirname(geoip2fast.__file__), _ASN_FILE)
                _asn_db = geoip2fast.GeoIP2Fast(geoip2fast_data_file=path)
    return _asn_db


def warm() -> None:
    """Load the ASN data now (~0.3 s) rather than on the first lookup."""
    _load_asn_db()


def asn_of(ip: str | None) -> str:
    """The operator (autonomous system) the address is announced by, or UNKNOWN."""
    return _asn_of_global(_public(parse_ip(ip)))


@lru_cache(maxsize=8192)
def _asn_of_global(address: str) -> str:
    if not address:
        return UNKNOWN
    try:
        result = _load_asn_db().lookup(address)
        name = getattr(result, "asn_name", "") or ""
    except Exception:  # a data-file or parser problem must not become a 500
        return UNKNOWN
    if not isinstance(name, str) or getattr(result, "is_private", False):
        return UNKNOWN
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    # geoip2fast's own placeholder for IANA special ranges.
    if name in {"IANA.ORG"}:
        return UNKNOWN
    return name[:ASN_MAX_LENGTH]


def locate(ip: str | None, *, ipv4_prefix: int = 24, ipv6_prefix: int = 64) -> Location:
    """Everything the risk model reads from an address. Total: never raises."""
    address = parse_ip(ip)  # once: a sign-in's address is read here five ways
    if address is None:
        return Location(ip="", network="", asn=UNKNOWN, country=UNKNOWN, block="")
    public = _public(address)
    return Location(
        ip=str(address),
        network=address_network(address, ipv4_prefix, ipv6_prefix),
        asn=_asn_of_global(public),
        country=_country_of_public(public),
        block=address_network(address, BLOCK_IPV4_PREFIX, BLOCK_IPV6_PREFIX),
    )
