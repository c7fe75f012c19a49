"""What a request says about the device behind it.

Pure: a user-agent string and a client IP in, a ``Fingerprint`` out. The user
agent is the attacker's to choose, so it is cut to a bounded length and
stripped of control characters before anything reads it.

Parsing goes through ua-parser 1.x (with its ``ua-parser-rs`` accelerator
when installed: ~15 µs a string instead of ~0.8 ms through the legacy API
that ``user_agents.parse`` uses), and the classification (bot, tablet,
mobile, PC) is still user-agents' own: ``parse_user_agent()`` returns a
``user_agents.parsers.UserAgent`` built from the 1.x result, so every
property user-agents documents works on it.
"""

from __future__ import annotations

import ipaddress
import re
import threading
from dataclasses import dataclass
from functools import lru_cache

import ua_parser
from django.utils.translation import gettext
from user_agents.parsers import (
    UserAgent,
    parse_browser,
    parse_device,
    parse_operating_system,
)

DESKTOP, MOBILE, TABLET, BOT, OTHER = "desktop", "mobile", "tablet", "bot", "other"
DEVICE_CLASSES = (DESKTOP, MOBILE, TABLET, BOT, OTHER)
UNKNOWN = "Other"  # ua-parser's own name for a family it does not know

# Longest family name stored; ua-parser's names are far shorter.
FAMILY_MAX_LENGTH = 64
# User agents are cut to this before parsing and storing (docs/security.md
# R32): real ones are far shorter, and parsing more tells nothing more.
MAX_USER_AGENT_LENGTH = 512

# The network an address belongs to, for the record of where a device was seen
# (a home or office network; an IPv6 /64 is one subscriber).
NETWORK_IPV4_PREFIX = 24
NETWORK_IPV6_PREFIX = 64

# C0 controls, DEL and C1 controls: never parsed, never stored.
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean_user_agent(raw: str | bytes | None, max_length: int) -> str:
    """Cut ``raw`` to ``max_length`` characters and drop control characters."""
    if raw is None:
        return ""
    if isinstance(raw, bytes):
        raw = raw.decode("latin-1")
    # Cut first so a 100 KB header costs no more than a normal one.
    return _CONTROL_CHARS.sub("", raw[:max_length]).strip()


@dataclass(frozen=True)
class Agent:
    """The stable part of a user agent: versions are left out on purpose."""

    browser: str
    os: str
    device_class: str

    @property
    def known(self) -> bool:
        """Does the agent say anything at all: a browser or an OS?"""
        return not (self.browser == UNKNOWN and self.os == UNKNOWN)

    @property
    def name(self) -> str:
        """A label a person recognizes: "Chrome on Windows", "Safari on iPhone".

        In the active language (the families are names, kept as they are).
        """
        browser = _display_browser(self.browser)
        if self.browser == UNKNOWN and self.os == UNKNOWN:
            return gettext("Unknown device")
        if self.os == UNKNOWN:
            return browser
        if self.browser == UNKNOWN:
            return gettext("Unknown browser on %(os)s") % {"os": self.os}
        return gettext("%(browser)s on %(os)s") % {"browser": browser, "os": self.os}


# "Mobile Safari on iPhone" says "mobile" twice; the label drops it. Only the
# label: the fingerprint still tells "Chrome Mobile" from "Chrome".
_MOBILE_WORD = re.compile(r"^Mobile | Mobile(?= |$)")


def _display_browser(family: str) -> str:
    return _MOBILE_WORD.sub("", family).strip() or family


def _family(value: str | None) -> str:
    value = _CONTROL_CHARS.sub("", value or "").strip()
    return value[:FAMILY_MAX_LENGTH] or UNKNOWN


_parser: ua_parser.Parser | None = None
_parser_lock = threading.Lock()


def _ua_parser() -> ua_parser.Parser:
    """ua-parser 1.x with the fastest resolver installed and no cache of its
    own: ``parse_agent`` caches the part we keep, far smaller than a result."""
    global _parser
    if _parser is None:
        with _parser_lock:
            if _parser is None:
                if ua_parser.BestAvailableResolver is ua_parser.BasicResolver:
                    matchers = ua_parser.load_builtins()
                else:
                    matchers = ua_parser.load_lazy_builtins()
                _parser = ua_parser.Parser(ua_parser.BestAvailableResolver(matchers))
    return _parser


_NO_BROWSER, _NO_OS, _NO_DEVICE = ua_parser.UserAgent(), ua_parser.OS(), ua_parser.Device()


class _FastUserAgent(UserAgent):
    """user-agents' ``UserAgent``, filled from a ua-parser 1.x result.

    ``UserAgent.__init__`` goes through ua-parser's legacy API; this builds
    the same three named tuples from the 1.x ``Result`` (the same regexes,
    the same families) and leaves every classifying property to user-agents.
    """

    def __init__(self, user_agent_string: str) -> None:  # no super(): it would parse
        # A domain no regex matched is None; the legacy API said "Other".
        result = _ua_parser()(user_agent_string, ua_parser.Domain.ALL)
        browser = result.user_agent or _NO_BROWSER
        os = result.os or _NO_OS
        device = result.device or _NO_DEVICE
        self.ua_string = user_agent_string
        self.os = parse_operating_system(os.family, os.major, os.minor, os.patch, os.patch_minor)
        self.browser = parse_browser(
            browser.family, browser.major, browser.minor, browser.patch, browser.patch_minor
        )
        self.device = parse_device(device.family, device.brand, device.model)


def parse_user_agent(user_agent_string: str) -> UserAgent:
    """``user_agents.parse(user_agent_string)``, at ua-parser 1.x speed."""
    try:
        return _FastUserAgent(user_agent_string)
    except UnicodeEncodeError:
        # ua-parser-rs takes valid UTF-8 only; a lone surrogate (never in a
        # header, whose text is Latin-1) goes the slow way, same answer.
        return UserAgent(user_agent_string)


@lru_cache(maxsize=1024)
def cached_user_agent(user_agent: str) -> UserAgent:
    """``parse_user_agent`` of an already cleaned user agent, kept a while:
    the one parse of a string serves both the fingerprint and the site's
    ``request.user_agent`` (django-user-agents). Shared: treat it as read-only."""
    return parse_user_agent(user_agent)


def clear_caches() -> None:
    """Forget every parse (benchmarks of a cold parse, tests counting them)."""
    parse_agent.cache_clear()
    cached_user_agent.cache_clear()


@lru_cache(maxsize=4096)
def parse_agent(user_agent: str) -> Agent:
    """Classify an already cleaned user agent. Total: never raises."""
    if not user_agent:
        return Agent(UNKNOWN, UNKNOWN, OTHER)
    try:
        parsed = cached_user_agent(user_agent)
    except Exception:  # a parser bug must not become a 500
        return Agent(UNKNOWN, UNKNOWN, OTHER)
    if parsed.is_bot:
        device_class = BOT
    elif parsed.is_tablet:
        device_class = TABLET
    elif parsed.is_mobile:
        device_class = MOBILE
    elif parsed.is_pc:
        device_class = DESKTOP
    else:
        device_class = OTHER
    os_family = _family(parsed.os.family)
    # "iPhone" says more than "iOS" to the person reading their device list.
    if os_family == "iOS" and parsed.device.family in {"iPhone", "iPad", "iPod"}:
        os_family = parsed.device.family
    return Agent(_family(parsed.browser.family), os_family, device_class)


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_ip(ip: str | None) -> Address | None:
    """``ip`` as an address, IPv4-mapped IPv6 unmapped, zone dropped (None if not an IP)."""
    if not ip or len(ip) > 64:
        return None
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return address.ipv4_mapped
        if address.scope_id:  # "fe80::1%eth0": the zone is no part of the address
            return ipaddress.IPv6Address(str(address).split("%", 1)[0])
    return address


def normalize_ip(ip: str | None) -> str:
    """``ip`` in canonical text form, IPv4-mapped IPv6 unmapped ("" if not an IP)."""
    address = parse_ip(ip)
    return "" if address is None else str(address)


def network_of(
    ip: str | None,
    ipv4_prefix: int = NETWORK_IPV4_PREFIX,
    ipv6_prefix: int = NETWORK_IPV6_PREFIX,
) -> str:
    """The network ``ip`` belongs to, as CIDR text ("" when ``ip`` is not an IP)."""
    return address_network(parse_ip(ip), ipv4_prefix, ipv6_prefix)


def address_network(address: Address | None, ipv4_prefix: int, ipv6_prefix: int) -> str:
    """The network of an already parsed address, as CIDR text."""
    if address is None:
        return ""
    bits = address.max_prefixlen
    prefix = min(max(ipv4_prefix if address.version == 4 else ipv6_prefix, 0), bits)
    # Masking the integer is what ip_network(strict=False) does, at a
    # fraction of the cost of building a network object.
    host_bits = (1 << (bits - prefix)) - 1
    network = type(address)(int(address) & ~host_bits & ((1 << bits) - 1))
    return f"{network}/{prefix}"


@dataclass(frozen=True)
class Fingerprint:
    agent: Agent
    ip: str
    network: str

    @property
    def name(self) -> str:
        return self.agent.name


def fingerprint(
    user_agent: str | bytes | None,
    ip: str | None,
    *,
    max_length: int = MAX_USER_AGENT_LENGTH,
    ipv4_prefix: int = NETWORK_IPV4_PREFIX,
    ipv6_prefix: int = NETWORK_IPV6_PREFIX,
) -> Fingerprint:
    """The fingerprint of a request's user agent and client IP."""
    agent = parse_agent(clean_user_agent(user_agent, max_length))
    address = parse_ip(ip)
    return Fingerprint(
        agent=agent,
        ip="" if address is None else str(address),
        network=address_network(address, ipv4_prefix, ipv6_prefix),
    )
