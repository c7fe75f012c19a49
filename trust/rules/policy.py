"""The risk decision: may this sign-in skip the code?

Pure: plain values in, an ``Assessment`` out. The fingerprint can only take
trust away: without a live device secret of this user nothing is recognized,
whatever the user agent or IP says (docs/security.md R25).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from .fingerprint import Agent, Fingerprint

# Reasons, machine-readable: they go to the security log, the JSON 401 and
# the signals.
NEW_DEVICE = "new_device"
FINGERPRINT_MISMATCH = "fingerprint_mismatch"
NEW_NETWORK = "new_network"
EXPIRED = "expired"
IDLE = "idle"
REVOKED_TOKEN = "revoked_token"
STALE_TOKEN = "stale_token"
UNKNOWN_DEVICE = "unknown_device"
AUTHENTICATOR_REMOVED = "authenticator_removed"
PASSWORD_FAILURES = "password_failures"  # a burst of wrong passwords (password_throttle)
# A device bound to a browser key (DBSC, trust.dbsc) came without a fresh
# bound cookie of its own: its cookie may have been copied, or the browser
# lost its session.
UNBOUND = "unbound"


class DeviceRecord(Protocol):
    """What the policy reads of a trusted device (a ``TrustedDevice`` fits)."""

    @property
    def agent(self) -> Agent: ...

    network: str
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class Assessment:
    recognized: bool
    reasons: tuple[str, ...] = ()


def assess(
    device: DeviceRecord | None,
    fingerprint: Fingerprint,
    now: datetime,
    *,
    idle_timeout: timedelta,
    key_proven: bool = True,
) -> Assessment:
    """Decide on ``device``, the record the presented secret belongs to (if any).

    ``key_proven``: the request proved the browser key the device is bound
    to, or it is bound to none (``trust.dbsc.proven``).
    """
    if device is None:
        return Assessment(False, (NEW_DEVICE,))
    if not fingerprint.agent.known:
        # SECURITY: an agent nothing can be told about (empty, garbled) would
        # match any other such agent: it never stands in for a code.
        return Assessment(False, (UNKNOWN_DEVICE,))
    if device.revoked_at is not None:
        return Assessment(False, (REVOKED_TOKEN,))
    if now >= device.expires_at:
        return Assessment(False, (EXPIRED,))
    if now - device.last_seen_at >= idle_timeout:
        return Assessment(False, (IDLE, EXPIRED))
    if device.agent != fingerprint.agent:
        return Assessment(False, (FINGERPRINT_MISMATCH,))
    if not key_proven:
        # SECURITY: fail closed, but revoke nothing: the browser holding the
        # key may only have lost its session; a code re-trusts it.
        return Assessment(False, (UNBOUND,))
    if device.network and fingerprint.network != device.network:
        # Recorded, not blocking: a laptop changes networks all the time. The
        # risk model judges where a sign-in comes from (docs/risk.md).
        return Assessment(True, (NEW_NETWORK,))
    return Assessment(True)
