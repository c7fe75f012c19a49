"""The independent check's world: real operators' address ranges in twelve
countries, and current browsers' user-agent strings.

Written as plain data, not drawn from the project's simulator (bench.rba)
and not from Trustgate's code. Where the ranges come from: the regional
registries' allocations to each operator (ARIN, RIPE NCC, APNIC, LACNIC),
as known without a network here, then checked against the geolocation data
the demo places addresses with (MaxMind's GeoLite2 of June 2024, shipped in
geoip2fast): every /24 of every IPv4 range, and /48s across every IPv6
prefix, must be placed in the stated country and on an operator whose
name contains ``geo_name`` (tests/test_http_check_world.py). Ranges the data
places partly elsewhere were narrowed to the part it places at home, or
dropped (kept out: AT&T Mobility, Verizon Fios, Deutsche Telekom's mobile
80.187/16, Vodafone UK's IPv6, and others the data splits across
countries or operators). Where a remembered range did not hold and the
operator was still needed (a carrier for a country, a second /16), the
operator's blocks were picked from the data's own listing of that
operator: those entries say "(from the data)". Their operator and country
are then the data's word only, which the check shares with the site.

``geo_name`` is the name the shipped data gives the operator: it names
operators, not AS numbers, and some differently: Verizon Wireless is
"CELLCO-PART", AT&T's fixed lines "ATT-INTERNET4", Bell Canada "BACOM",
Ziggo (VodafoneZiggo's cable) "Vodafone Libertel", Vivo "TELEFONICA BRASIL".
"""

from __future__ import annotations

import ipaddress
import itertools
import random
from dataclasses import dataclass

FIXED = "fixed"
MOBILE = "mobile"
HOSTING = "hosting"


@dataclass(frozen=True)
class Operator:
    name: str  # as people know it
    geo_name: str  # a substring of the operator name the geolocation data gives
    country: str  # ISO 3166-1 alpha-2
    kind: str  # FIXED, MOBILE or HOSTING
    v4: tuple[str, ...]
    v6: tuple[str, ...] = ()
    # /24s inside ``v4`` the data gives another network (a customer with its
    # own AS, a reassignment abroad): never drawn.
    holes: tuple[str, ...] = ()


def _op(
    name: str,
    geo: str,
    cc: str,
    kind: str,
    *v4: str,
    v6: tuple[str, ...] = (),
    holes: tuple[str, ...] = (),
) -> Operator:
    return Operator(name, geo, cc, kind, tuple(v4), v6, holes)


OPERATORS: tuple[Operator, ...] = (
    # --- United States (ARIN) ---
    _op("Comcast", "COMCAST", "US", FIXED, "73.0.0.0/8", "98.192.0.0/10", "24.0.0.0/12",
        v6=("2601::/20",)),
    # AT&T's fixed lines (AS7018); 99.0.0.0/10 less 99.16/12, which holds another network's /23.
    _op("AT&T", "ATT-INTERNET4", "US", FIXED, "99.32.0.0/11", "99.0.0.0/12",
        v6=("2600:1700::/28",)),
    _op("Verizon Wireless", "CELLCO-PART", "US", MOBILE, "97.0.0.0/10", "174.192.0.0/11"),
    # T-Mobile US: 172.32.0.0/11 and 172.56.0.0/14 hold Puerto Rico /24s the
    # data places there, so their US parts; one /24 is placed in Pakistan.
    _op("T-Mobile US", "T-MOBILE", "US", MOBILE, "172.32.0.0/12", "172.48.0.0/13",
        "172.56.0.0/15", holes=("172.41.66.0/24",)),
    _op("DigitalOcean US", "DIGITALOCEAN", "US", HOSTING, "104.131.0.0/16", "162.243.0.0/16"),
    _op("AWS us-east-1", "AMAZON", "US", HOSTING, "3.80.0.0/12"),
    # --- United Kingdom (RIPE) ---
    _op("BT", "British Telecommunications", "GB", FIXED, "86.128.0.0/10", "81.128.0.0/11",
        "109.144.0.0/12", v6=("2a00:23c0::/26",), holes=("81.128.167.0/24",)),
    _op("Virgin Media", "Virgin Media", "GB", FIXED, "82.0.0.0/11", "86.0.0.0/11"),
    _op("Sky UK", "Sky UK", "GB", FIXED, "90.192.0.0/11"),
    _op("EE", "EE Limited", "GB", MOBILE, "2.24.0.0/13", v6=("2a01:4c8::/32",)),
    _op("Three UK", "Three", "GB", MOBILE, "92.40.0.0/15"),
    _op("Vodafone UK", "Vodafone Limited", "GB", MOBILE, "212.183.128.0/19"),
    _op("AWS eu-west-2", "AMAZON", "GB", HOSTING, "3.8.0.0/14"),
    # (from the data) DigitalOcean's city blocks: London, Frankfurt, Amsterdam, Bangalore.
    _op("DigitalOcean London", "DIGITALOCEAN", "GB", HOSTING, "178.62.0.0/17"),
    # M247's 146.70.0.0/16 is rented out as VPN exits, a /24 per country:
    # which /24 is where comes from the geolocation data.
    _op("M247 (VPN exits)", "M247", "GB", HOSTING, "146.70.23.0/24", "146.70.30.0/24"),
    # --- Germany (RIPE) ---
    _op("Deutsche Telekom", "Deutsche Telekom", "DE", FIXED, "79.192.0.0/10", "84.128.0.0/10",
        "87.128.0.0/10", "91.0.0.0/10", "93.192.0.0/10", v6=("2003::/19",)),
    _op("Vodafone DE", "Vodafone GmbH", "DE", FIXED, "88.64.0.0/12", "188.96.0.0/12",
        v6=("2a02:8100::/27",)),
    # o2 (Telefonica Germany): mobile; its fixed lines are one operator with it.
    _op("o2 DE", "Telefonica Germany", "DE", MOBILE, "176.0.0.0/13", "82.113.96.0/19",
        v6=("2a02:3030::/32",)),
    # Vodafone's mobile pool: one operator name with its cable lines.
    _op("Vodafone DE mobile", "Vodafone GmbH", "DE", MOBILE, "109.40.0.0/13"),
    _op("Hetzner", "Hetzner", "DE", HOSTING, "88.198.0.0/16", "78.46.0.0/15", "144.76.0.0/16",
        "5.9.0.0/16", "136.243.0.0/16", "148.251.0.0/16"),
    _op("AWS eu-central-1", "AMAZON", "DE", HOSTING, "3.120.0.0/14"),
    _op("DigitalOcean Frankfurt", "DIGITALOCEAN", "DE", HOSTING, "46.101.128.0/17"),
    _op("M247 (VPN exits)", "M247", "DE", HOSTING, "146.70.20.0/24", "146.70.33.0/24"),
    # --- France (RIPE) ---
    _op("Orange", "Orange", "FR", FIXED, "86.192.0.0/11", v6=("2a01:cb10::/28",)),
    _op("Free", "Free SAS", "FR", FIXED, "82.224.0.0/11", "88.160.0.0/11",
        v6=("2a01:e0a::/32",)),
    _op("SFR", "Societe Francaise Du Radiotelephone", "FR", FIXED, "109.0.0.0/14",
        "77.128.0.0/13"),
    _op("Bouygues Telecom", "Bouygues", "FR", FIXED, "89.80.0.0/12"),
    # Free Mobile: 37.160.0.0/12 less Scaleway's quarter; 78.240/13 (from the data).
    _op("Free Mobile", "Free Mobile", "FR", MOBILE, "37.164.0.0/14", "37.168.0.0/13",
        "78.240.0.0/13"),
    _op("Bouygues Telecom mobile", "Bouygues", "FR", MOBILE, "176.128.0.0/10",
        holes=("176.162.233.0/24",)),
    _op("AWS eu-west-3", "AMAZON", "FR", HOSTING, "15.236.0.0/15", "35.180.0.0/15"),
    _op("M247 (VPN exits)", "M247", "FR", HOSTING, "146.70.18.0/24", "146.70.32.0/24"),
    # --- Brazil (LACNIC) ---
    _op("Claro (NET)", "Claro NXT", "BR", FIXED, "179.216.0.0/13"),
    # (from the data) Vivo, Claro S.A. and TIM: remembered 177/187/189/201 blocks
    # are split between several operators in the data.
    _op("Vivo", "TELEFONICA BRASIL", "BR", FIXED, "152.240.0.0/12"),
    _op("Claro mobile", "CLARO S.A.", "BR", MOBILE, "179.136.0.0/13"),
    _op("TIM Brasil", "TIM SA", "BR", MOBILE, "191.128.0.0/12", "191.160.0.0/12"),
    _op("AWS sa-east-1", "AMAZON", "BR", HOSTING, "18.228.0.0/14", "54.232.0.0/15"),
    _op("M247 (VPN exits)", "M247", "BR", HOSTING, "146.70.98.0/24", "146.70.163.0/24"),
    # --- India (APNIC) ---
    _op("Jio", "Reliance Jio", "IN", FIXED, "49.32.0.0/12", "157.32.0.0/12",
        v6=("2409:4000::/22",), holes=("49.40.59.0/24",)),
    _op("Airtel broadband", "Airtel", "IN", FIXED, "122.160.0.0/12"),
    _op("Airtel mobile", "Airtel", "IN", MOBILE, "106.192.0.0/11", "223.176.0.0/12"),
    _op("AWS ap-south-1", "AMAZON", "IN", HOSTING, "13.126.0.0/15", "13.232.0.0/14"),
    _op("DigitalOcean Bangalore", "DIGITALOCEAN", "IN", HOSTING, "139.59.0.0/18"),
    # --- Japan (APNIC / JPNIC) ---
    _op("NTT (OCN)", "NTT Communications", "JP", FIXED, "180.0.0.0/12", "153.128.0.0/10",
        "153.192.0.0/11"),
    _op("SoftBank", "SoftBank", "JP", FIXED, "126.64.0.0/10"),
    _op("NTT Docomo", "NTT DOCOMO", "JP", MOBILE, "49.96.0.0/12"),
    _op("KDDI (au)", "KDDI", "JP", MOBILE, "106.128.0.0/11", "27.80.0.0/13"),
    _op("AWS ap-northeast-1", "AMAZON", "JP", HOSTING, "13.112.0.0/14", "18.176.0.0/13"),
    _op("Sakura Internet", "SAKURA", "JP", HOSTING, "133.242.0.0/16", "153.126.0.0/16"),
    _op("M247 (VPN exits)", "M247", "JP", HOSTING, "146.70.31.0/24", "146.70.76.0/24"),
    # --- Spain (RIPE) ---
    _op("Movistar", "Telefonica De Espana", "ES", FIXED, "79.144.0.0/12", "83.32.0.0/11",
        "88.0.0.0/11"),
    _op("Orange Espagne", "Orange Espagne", "ES", FIXED, "90.160.0.0/12", "85.48.0.0/12"),
    # (from the data) Vodafone Ono, Vodafone Spain, Orange Espagne's 85.48/12.
    _op("Vodafone Ono", "Vodafone Ono", "ES", FIXED, "84.120.0.0/14"),
    _op("Vodafone Spain", "Vodafone Spain", "ES", MOBILE, "77.208.0.0/14"),
    _op("AWS eu-south-2", "AMAZON", "ES", HOSTING, "18.100.0.0/15"),
    _op("M247 (VPN exits)", "M247", "ES", HOSTING, "146.70.22.0/24", "146.70.74.0/24"),
    # --- Italy (RIPE) ---
    _op("TIM", "Telecom Italia", "IT", FIXED, "79.0.0.0/10", "87.0.0.0/11",
        holes=("79.61.166.0/24",)),
    _op("Fastweb", "Fastweb", "IT", FIXED, "93.32.0.0/12"),
    _op("Vodafone Italia", "Vodafone Italia", "IT", MOBILE, "2.32.0.0/12"),
    _op("WindTre", "Wind Tre", "IT", MOBILE, "151.32.0.0/11"),
    # AWS Milan, Madrid, Canada and Tokyo's 18.176/13 (from the data).
    _op("AWS eu-south-1", "AMAZON", "IT", HOSTING, "15.160.0.0/15"),
    _op("M247 (VPN exits)", "M247", "IT", HOSTING, "146.70.73.0/24", "146.70.109.0/24"),
    # --- Netherlands (RIPE) ---
    # KPN: 77.160/12 remembered, 77.60/14 (from the data).
    _op("KPN", "KPN", "NL", FIXED, "77.160.0.0/12", "77.60.0.0/14"),
    _op("Ziggo", "Vodafone Libertel", "NL", FIXED, "84.24.0.0/13", "83.80.0.0/13",
        "94.208.0.0/13"),
    # (from the data) Odido, and Ziggo's 83.80/13 and 94.208/13.
    _op("Odido (T-Mobile NL)", "Odido", "NL", MOBILE, "87.208.0.0/13", "178.224.0.0/13"),
    _op("DigitalOcean Amsterdam", "DIGITALOCEAN", "NL", HOSTING, "188.166.0.0/17"),
    _op("LeaseWeb", "LeaseWeb", "NL", HOSTING, "85.17.0.0/16", "95.211.0.0/16"),
    _op("M247 (VPN exits)", "M247", "NL", HOSTING, "146.70.35.0/24", "146.70.86.0/24"),
    # --- Poland (RIPE) ---
    _op("Orange Polska", "Orange Polska", "PL", FIXED, "83.0.0.0/11", "79.184.0.0/13"),
    # (from the data) Netia and T-Mobile Polska.
    _op("Netia", "Netia", "PL", FIXED, "77.252.0.0/14", "78.8.0.0/15",
        holes=("78.9.100.0/24",)),
    _op("Play", "Play", "PL", MOBILE, "5.173.0.0/16"),
    _op("T-Mobile Polska", "T-Mobile Polska", "PL", MOBILE, "178.180.0.0/15", "178.182.0.0/15",
        holes=("178.183.21.0/24",)),
    _op("M247 (VPN exits)", "M247", "PL", HOSTING, "146.70.85.0/24", "146.70.144.0/24"),
    # --- Canada (ARIN) ---
    _op("Rogers", "ROGERS", "CA", FIXED, "99.224.0.0/11", "72.136.0.0/14"),
    _op("Vidéotron", "VIDEOTRON", "CA", FIXED, "24.200.0.0/14", "70.80.0.0/14"),
    _op("Telus", "TELUS", "CA", FIXED, "75.152.0.0/14"),
    _op("Shaw", "SHAW", "CA", FIXED, "96.48.0.0/13"),
    # (from the data) Bell Mobility's only whole blocks; Vidéotron's 70.80/14.
    _op("Bell Mobility", "BELLMOBILITY", "CA", MOBILE, "184.151.160.0/21",
        "184.151.176.0/21"),
    _op("AWS ca-central-1", "AMAZON", "CA", HOSTING, "3.96.0.0/14", "15.222.0.0/15"),
    _op("M247 (VPN exits)", "M247", "CA", HOSTING, "146.70.27.0/24", "146.70.75.0/24"),
)  # fmt: skip

COUNTRIES: tuple[str, ...] = tuple(dict.fromkeys(op.country for op in OPERATORS))


def operators(country: str, kind: str) -> list[Operator]:
    return [op for op in OPERATORS if op.country == country and op.kind == kind]


# --- Browsers: reduced user-agent strings as current browsers send them ---
# Chromium freezes the platform ("Windows NT 10.0; Win64; x64", macOS
# "10_15_7", Android "10; K") and the minor version ("143.0.0.0"); Safari
# sends its major.minor, and on iOS 26 the OS stays "18_6"; Firefox sends
# "rv:N.0". Each browser is (name, template), "{v}" the major version.
BROWSERS: tuple[tuple[str, str, int], ...] = (
    (
        "Chrome on Windows",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/{v}.0.0.0 Safari/537.36",
        143,
    ),
    (
        "Edge on Windows",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/{v}.0.0.0 Safari/537.36 Edg/{v}.0.0.0",
        142,
    ),
    (
        "Chrome on macOS",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/{v}.0.0.0 Safari/537.36",
        143,
    ),
    (
        "Firefox on Windows",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
        145,
    ),
    (
        "Firefox on macOS",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
        144,
    ),
    (
        "Chrome on Android",
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/{v}.0.0.0 Mobile Safari/537.36",
        142,
    ),
    (
        "Samsung Internet",
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/{v}.0 Chrome/130.0.0.0 Mobile Safari/537.36",
        28,
    ),
)
# Safari's versions are not one number a step: 18.6, then 26.0 (macOS and
# iOS 26 jumped to the year), then 26.1.
SAFARI: tuple[tuple[str, str], ...] = (
    (
        "Safari on macOS",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/{v} Safari/605.1.15",
    ),
    (
        "Safari on iPhone",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/{v} Mobile/15E148 Safari/604.1",
    ),
)
SAFARI_VERSIONS = ("18.6", "26.0", "26.1")


@dataclass(frozen=True)
class Browser:
    name: str
    user_agent: str
    updated: str  # the same browser one major version on


def browsers() -> list[Browser]:
    """Every browser of the world, with its next major version."""
    found = [
        Browser(name, template.format(v=v), template.format(v=v + 1))
        for name, template, v in BROWSERS
    ]
    for name, template in SAFARI:
        for old, new in itertools.pairwise(SAFARI_VERSIONS):
            if old.split(".")[0] != new.split(".")[0]:  # a major step only
                found.append(Browser(name, template.format(v=old), template.format(v=new)))
    return found


# --- Drawing addresses ---


def networks(op: Operator) -> list[ipaddress.IPv4Network]:
    return [ipaddress.IPv4Network(cidr) for cidr in op.v4]


def slash16s(op: Operator) -> list[ipaddress.IPv4Network]:
    """Every /16 the operator's IPv4 ranges cover (or the range, when smaller)."""
    found: list[ipaddress.IPv4Network] = []
    for net in networks(op):
        found.extend(net.subnets(new_prefix=16) if net.prefixlen < 16 else [net])
    return found


def random_slash24(rng: random.Random, within: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
    if within.prefixlen >= 24:
        return within
    index = rng.randrange(1 << (24 - within.prefixlen))
    return ipaddress.IPv4Network((int(within.network_address) + (index << 8), 24))


def host(rng: random.Random, net: ipaddress.IPv4Network) -> str:
    """An address inside ``net`` that is neither its first nor its last."""
    size = net.num_addresses
    return str(net.network_address + rng.randrange(1, size - 1))


def in_hole(op: Operator, address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip in ipaddress.ip_network(hole) for hole in op.holes)


def address_in(
    rng: random.Random, op: Operator, within: ipaddress.IPv4Network | None = None
) -> str:
    """A random address of the operator (inside ``within`` if given), its
    /16s weighed alike, never in one of its holes."""
    for _ in range(100):
        net = within if within is not None else rng.choice(slash16s(op))
        address = host(rng, random_slash24(rng, net))
        if not in_hole(op, address):
            return address
    raise RuntimeError(f"no address outside the holes of {op.name}")
