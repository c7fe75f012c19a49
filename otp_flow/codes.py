"""Code input, canonicalized before anything compares it.

Pure. django-otp's TOTP check does ``int(token)``, which takes Arabic-Indic
and full-width digits, "+123456" and "123_456". Only what passes here
reaches it.
"""

from __future__ import annotations

import re

TOTP_DIGITS = 6
_TOTP_RE = re.compile(rf"[0-9]{{{TOTP_DIGITS}}}", re.ASCII)
# Spaces people type or paste: ASCII space and tab only. Anything else
# (NUL, newlines, Unicode spaces) makes the input malformed.
_SPACES = re.compile(r"[ \t]+")
MAX_INPUT_LENGTH = 64


def canonical_totp(raw: object) -> str | None:
    """The six ASCII digits of ``raw`` with spaces removed, or ``None``."""
    if not isinstance(raw, str) or len(raw) > MAX_INPUT_LENGTH:
        return None
    candidate = _SPACES.sub("", raw)
    return candidate if _TOTP_RE.fullmatch(candidate) else None
