"""Device-cookie secrets and their hashes.

A secret is 256 random bits; the database keeps only its SHA-256. A secret
that strong needs no salt or slow hash: a leaked table yields no cookie, and
nothing here is derived from ``SECRET_KEY``, so knowing it forges no trust.

One browser may hold trust for several users, so the cookie value is a list
of secrets joined by ``SEPARATOR``, newest first.
"""

from __future__ import annotations

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


def hashes_match(secret: str, stored_hash: str) -> bool:
    """Constant-time check of ``secret`` against a stored hash."""
    return hmac.compare_digest(hash_secret(secret), stored_hash)


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
