"""Device-cookie secrets and their hashes.

A secret is 256 random bits; the database keeps only its SHA-256. A secret
that strong needs no salt or slow hash: a leaked table yields no cookie, and
nothing here is derived from ``SECRET_KEY``, so knowing it forges no trust.

One browser may hold trust for several users, so the cookie value is a list
of secrets joined by ``SEPARATOR``, newest first.

For a few seconds after a rotation the old secret's record also keeps the
new one *wrapped* under the old (``wrap_successor``), so that a double
submit of the same browser can be answered with the same new cookie: only a
request presenting the old secret can unwrap it, and the database alone
yields nothing usable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

SECRET_BYTES = 32
SEPARATOR = "."
# token_urlsafe(32) gives 43 characters of [A-Za-z0-9_-].
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{43}", re.ASCII)
_MAX_COOKIE_LENGTH = 4096


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


# Domain separation: this pad is never anything but a successor's.
_SUCCESSOR_LABEL = b"trustgate successor"


def _pad(old_secret: str) -> bytes:
    # A PRF keyed by the old 256-bit secret. Each old secret is rotated once
    # (a compare-and-swap), so each pad wraps exactly one successor.
    return hmac.new(old_secret.encode("ascii"), _SUCCESSOR_LABEL, hashlib.sha256).digest()


def wrap_successor(old_secret: str, new_secret: str) -> str:
    """``new_secret`` encrypted under ``old_secret`` (a one-time pad), as hex."""
    raw = base64.urlsafe_b64decode(new_secret + "=")
    if len(raw) != SECRET_BYTES:
        raise ValueError("not a secret of new_secret()")
    return bytes(a ^ b for a, b in zip(raw, _pad(old_secret), strict=True)).hex()


def unwrap_successor(old_secret: str, wrapped: str) -> str | None:
    """The secret ``wrap_successor(old_secret, ...)`` wrapped; ``None`` if malformed.

    A wrong ``old_secret`` gives a random-looking secret, never an error:
    the caller checks the result against the device's current hash.
    """
    try:
        raw = bytes.fromhex(wrapped)
    except (ValueError, TypeError):
        return None
    if len(raw) != SECRET_BYTES:
        return None
    plain = bytes(a ^ b for a, b in zip(raw, _pad(old_secret), strict=True))
    return base64.urlsafe_b64encode(plain).rstrip(b"=").decode("ascii")


def parse_cookie(value: str | None, limit: int) -> list[str]:
    """The well-formed secrets in a cookie value, at most ``limit`` of them.

    Anything malformed is dropped rather than rejected: a garbled cookie
    means "no trust", never an error.
    """
    if not value or len(value) > _MAX_COOKIE_LENGTH:
        return []
    found: list[str] = []
    for part in value.split(SEPARATOR):
        if _SECRET_RE.fullmatch(part) and part not in found:
            found.append(part)
        if len(found) >= limit:
            break
    return found


def build_cookie(secrets_newest_first: list[str], limit: int) -> str:
    return SEPARATOR.join(secrets_newest_first[:limit])
