"""What a request says about the device behind it.

Pure: a user-agent string and a client IP in, a ``Fingerprint`` out. The user
agent is the attacker's to choose, so it is cut to a bounded length and
stripped of control characters before anything reads it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache

import user_agents

DESKTOP, MOBILE, TABLET, BOT, OTHER = "desktop", "mobile", "tablet", "bot", "other"
DEVICE_CLASSES = (DESKTOP, MOBILE, TABLET, BOT, OTHER)
UNKNOWN = "Other"  # ua-parser's own name for a family it does not know

# Longest family name stored; ua-parser's names are far shorter.
FAMILY_MAX_LENGTH = 64

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
        """A label a person recognizes: "Chrome on Windows", "Safari on iPhone"."""
        browser = _display_browser(self.browser)
        if self.browser == UNKNOWN and self.os == UNKNOWN:
            return "Unknown device"
        if self.os == UNKNOWN:
            return browser
        if self.browser == UNKNOWN:
            return f"Unknown browser on {self.os}"
        return f"{browser} on {self.os}"


# "Mobile Safari on iPhone" says "mobile" twice; the label drops it. Only the
# label: the fingerprint still tells "Chrome Mobile" from "Chrome".
_MOBILE_WORD = re.compile(r"^Mobile | Mobile(?= |$)")


def _display_browser(family: str) -> str:
    return _MOBILE_WORD.sub("", family).strip() or family


def _family(value: str | None) -> str:
    value = _CONTROL_CHARS.sub("", value or "").strip()
    return value[:FAMILY_MAX_LENGTH] or UNKNOWN


@lru_cache(maxsize=4096)
def parse_agent(user_agent: str) -> Agent:
    """Classify an already cleaned user agent. Total: never raises."""
    if not user_agent:
        return Agent(UNKNOWN, UNKNOWN, OTHER)
    parsed = user_agents.parse(user_agent)
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


def _address(ip: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
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
    address = _address(ip)
    return "" if address is None else str(address)


def network_of(ip: str | None, ipv4_prefix: int = 24, ipv6_prefix: int = 64) -> str:
    """The network ``ip`` belongs to, as CIDR text ("" when ``ip`` is not an IP)."""
    address = _address(ip)
    if address is None:
        return ""
    prefix = ipv4_prefix if address.version == 4 else ipv6_prefix
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


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
    max_length: int = 512,
    ipv4_prefix: int = 24,
    ipv6_prefix: int = 64,
) -> Fingerprint:
    """The fingerprint of a request's user agent and client IP."""
    agent = parse_agent(clean_user_agent(user_agent, max_length))
    return Fingerprint(
        agent=agent,
        ip=normalize_ip(ip),
        network=network_of(ip, ipv4_prefix, ipv6_prefix),
    )
