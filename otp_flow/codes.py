"""Code input, canonicalized before anything compares it; backup-code format.

Pure. django-otp's TOTP check does ``int(token)``, which takes Arabic-Indic
and full-width digits, "+123456" and "123_456". Only what passes here
reaches it.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

TOTP_DIGITS = 6
_TOTP_RE = re.compile(rf"[0-9]{{{TOTP_DIGITS}}}", re.ASCII)
# Spaces people type or paste: ASCII space and tab only. Anything else
# (NUL, newlines, Unicode spaces) makes the input malformed.
_SPACES = re.compile(r"[ \t]+")
MAX_INPUT_LENGTH = 64

# Backup codes: Crockford's base32 (no i, l, o, u: nothing to misread), 16
# characters = 80 bits from ``secrets``. Above NIST SP 800-63B-4's 64 bits
# for saved recovery codes, and far beyond guessing within the throttle.
BACKUP_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
BACKUP_LENGTH = 16
BACKUP_GROUP = 4
BACKUP_CODES_PER_SET = 10
_BACKUP_RE = re.compile(rf"[{BACKUP_ALPHABET}]{{{BACKUP_LENGTH}}}", re.ASCII)
_BACKUP_SEPARATORS = re.compile(r"[ \t-]+")
# Crockford's decoding of the look-alikes people type for 0 and 1.
_LOOKALIKES = str.maketrans({"o": "0", "i": "1", "l": "1"})

TOTP = "totp"
BACKUP = "backup"
EMAIL = "email"  # a 6-digit code e-mailed for a risky sign-in (trust.flows.email_codes)


@dataclass(frozen=True)
class Code:
    """A canonical code and what kind it is."""

    kind: str  # TOTP or BACKUP
    value: str


def canonical_totp(raw: object) -> str | None:
    """The six ASCII digits of ``raw`` with spaces removed, or ``None``."""
    if not isinstance(raw, str) or len(raw) > MAX_INPUT_LENGTH:
        return None
    candidate = _SPACES.sub("", raw)
    return candidate if _TOTP_RE.fullmatch(candidate) else None


def canonical_backup(raw: object) -> str | None:
    """The 16 backup-code characters of ``raw`` (spaces, hyphens removed), or ``None``."""
    if not isinstance(raw, str) or len(raw) > MAX_INPUT_LENGTH:
        return None
    candidate = _BACKUP_SEPARATORS.sub("", raw)
    # SECURITY: ASCII is checked before lower(): "K" (Kelvin sign) lowers to
    # an ASCII "k", and must not.
    if not candidate.isascii():
        return None
    candidate = candidate.lower().translate(_LOOKALIKES)
    return candidate if _BACKUP_RE.fullmatch(candidate) else None


def canonical_code(raw: object, *, backup: bool = True) -> Code | None:
    """A TOTP code, or (if ``backup``) a backup code; ``None`` if neither."""
    totp = canonical_totp(raw)
    if totp is not None:
        return Code(TOTP, totp)
    if backup:
        value = canonical_backup(raw)
        if value is not None:
            return Code(BACKUP, value)
    return None


def new_backup_code() -> str:
    return "".join(secrets.choice(BACKUP_ALPHABET) for _ in range(BACKUP_LENGTH))


def format_backup_code(code: str) -> str:
    """``code`` in groups for reading: ``abcd-efgh-jkmn-pqrs``."""
    return "-".join(code[i : i + BACKUP_GROUP] for i in range(0, len(code), BACKUP_GROUP))
