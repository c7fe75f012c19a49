"""The features of one password sign-in, as the risk model reads them.

Pure: a ``Fingerprint`` (user agent and client IP already parsed by
``trust.rules.fingerprint``), the raw user agent and the time in, a
``SignInFeatures`` out. Every value is bounded text; an unknown one is "".
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from ..fingerprint import Fingerprint, clean_user_agent
from . import geo

# Feature names: the keys of the population and user counts.
IP = "ip"
NETWORK = "network"
ASN = "asn"
COUNTRY = "country"
USER_AGENT = "user_agent"
BROWSER = "browser"
OS = "os"
DEVICE_CLASS = "device_class"
# Counted but not scored (no level of Wiefling's hierarchy): the /16 (/40)
# address block, for the rule on blocks new to the user (``decision``).
BLOCK = "block"

FEATURES = (IP, NETWORK, ASN, COUNTRY, USER_AGENT, BROWSER, OS, DEVICE_CLASS, BLOCK)


@dataclass(frozen=True)
class SignInFeatures:
    ip: str
    network: str
    asn: str
    country: str
    user_agent: str  # a digest of the cleaned string: bounded, and no raw header is stored
    browser: str
    os: str
    device_class: str
    at: datetime
    block: str = ""  # the /16 (/40) address block, "" when not known

    def value(self, feature: str) -> str:
        return str(getattr(self, feature))


def short_digest(value: str) -> str:
    """Eight hex digits standing for a value on a trusted device's record
    (its operators): bounded whatever the value, and a fixed width."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def user_agent_digest(user_agent: str | bytes | None, max_length: int = 512) -> str:
    """A short stable digest of the cleaned user agent ("" when there is none)."""
    cleaned = clean_user_agent(user_agent, max_length)
    if not cleaned:
        return ""
    return hashlib.sha256(cleaned.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def features_of(
    fingerprint: Fingerprint,
    user_agent: str | bytes | None,
    at: datetime,
    *,
    location: geo.Location | None = None,
) -> SignInFeatures:
    """The features of a sign-in; ``location`` saves a second lookup when known."""
    where = location if location is not None else geo.locate(fingerprint.ip)
    return SignInFeatures(
        ip=fingerprint.ip,
        network=fingerprint.network,
        asn=where.asn,
        country=where.country,
        user_agent=user_agent_digest(user_agent),
        browser=fingerprint.agent.browser,
        os=fingerprint.agent.os,
        device_class=fingerprint.agent.device_class,
        at=at,
        block=where.block,
    )
