"""The rules of password throttling, pure: whose budget an attempt spends,
and how long each failure makes the next attempt wait.

Plain values in, plain values out; the counting itself (atomic, in the
database) is ``trust.password_throttle``'s.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from .fingerprint import network_of

# The first wait after the free allowance; each further failure doubles it.
BASE_DELAY = timedelta(seconds=1)
# Failures are forgotten after this long without one: counts start over.
FORGET_AFTER = timedelta(days=1)
# Usernames are cut to this many characters before anything reads them:
# nothing longer names an account, and a megabyte of them costs nothing.
MAX_USERNAME_LENGTH = 256
# One IPv6 subscriber gets a /64: its addresses are one client.
IPV6_PREFIX = 64


def account_name(username: object) -> str:
    """``username`` as the budget of a name that is no account's knows it
    (an account's own budget is keyed by the account, whatever was typed).

    NFKC-normalized as Django's user model does (``AbstractBaseUser.
    normalize_username``), then case-folded: "Alice", "ALICE" and a
    full-width "Alice" spend one budget, so case variants buy no extra guesses on a site whose
    usernames are case-insensitive. Anything that is not a string (a JSON
    list, a number) is read as its text.
    """
    text = username if isinstance(username, str) else str(username)
    text = text[:MAX_USERNAME_LENGTH]
    return unicodedata.normalize("NFKC", text).casefold()[:MAX_USERNAME_LENGTH]


def spellings(identifier: object) -> list[str]:
    """The forms a login backend may look ``identifier`` up by: as typed,
    NFKC-normalized (Django's forms, ``normalize_username``), and both
    lower-cased (allauth's stored names). None for what names no account:
    nothing but spaces, or a NUL (which PostgreSQL refuses in text)."""
    text = identifier if isinstance(identifier, str) else str(identifier)
    text = text[:MAX_USERNAME_LENGTH]
    if not text.strip() or "\x00" in text:
        return []
    normal = unicodedata.normalize("NFKC", text)
    return list(dict.fromkeys([text, normal, text.lower(), normal.lower()]))


def address_bucket(ip: str) -> str:
    """The client an address stands for: itself (IPv4), or its /64 (IPv6).

    "" (no address at all) is one bucket of its own: fail closed.
    """
    return network_of(ip, ipv4_prefix=32, ipv6_prefix=IPV6_PREFIX) or "unknown"


def delay(failures: int, *, free: int, max_delay: timedelta) -> timedelta:
    """How long the next attempt waits after ``failures`` failures in a row.

    Nothing within the free allowance; then 1, 2, 4, 8 ... seconds, never
    more than ``max_delay``: nobody is locked out for good.
    """
    over = failures - free
    if over < 0:
        return timedelta(0)
    if over >= 40:  # 2**40 s is far past any sane cap: skip the big number
        return max_delay
    return min(BASE_DELAY * (2**over), max_delay)


@dataclass(frozen=True)
class Count:
    """One budget's record: failures in a row, and when the last one was."""

    failures: int
    last_failure_at: datetime
    probe_until: datetime | None = None  # an attempt is being checked until then

    def current(self, now: datetime) -> int:
        """Failures that still count at ``now``."""
        return 0 if now - self.last_failure_at >= FORGET_AFTER else self.failures

    def waits_until(self, now: datetime, *, free: int, max_delay: timedelta) -> datetime | None:
        """Until when attempts are refused (``None``: one may be checked now)."""
        candidates = [self.probe_until] if self.probe_until is not None else []
        if self.backing_off(now, free=free):
            # Only a wait counts, never the time itself: another server's
            # clock a few milliseconds ahead must not hold anyone.
            wait = delay(self.current(now), free=free, max_delay=max_delay)
            candidates.append(self.last_failure_at + wait)
        until = max(candidates, default=None)
        return until if until is not None and until > now else None

    def backing_off(self, now: datetime, *, free: int) -> bool:
        """Past the free allowance: each attempt must wait its turn."""
        return self.current(now) >= free
