"""Keyed digests of what Trustgate must match but never keep in clear.

``keyed_digest(salt, value)`` is exactly Django's
``salted_hmac(salt, value, algorithm="sha256").hexdigest()``: an HMAC-SHA256
under a key derived from ``SECRET_KEY`` and the salt. Deriving that key and
setting up the HMAC is half the work of each digest, and a password sign-in
makes five (its address, network and block for the risk counts, its names
for the password throttle), so each salt's set-up HMAC is kept and copied.
A new ``SECRET_KEY`` (``override_settings`` too) makes a new one.
"""

from __future__ import annotations

import functools
import hashlib
import hmac

from django.conf import settings
from django.utils.encoding import force_bytes


def keyed_digest(salt: str, value: str) -> str:
    """``salted_hmac(salt, value, algorithm="sha256").hexdigest()``, cheaper."""
    mac = _keyed(salt, settings.SECRET_KEY).copy()
    mac.update(force_bytes(value))
    return mac.hexdigest()


@functools.lru_cache(maxsize=16)
def _keyed(salt: str, secret: str | bytes) -> hmac.HMAC:
    # As salted_hmac derives it: the hash of the salt and the secret.
    key = hashlib.sha256(force_bytes(salt) + force_bytes(secret)).digest()
    return hmac.new(key, digestmod=hashlib.sha256)
