"""Trustgate's record in the session: what was decided, for whom, on what.

The middleware decides once per sign-in and keeps the outcome here, so a
request of a session already verified or trusted costs no query and no
user-agent parse: it compares this record with the session's user and a
digest of the user agent, and goes on.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

from django.contrib.sessions.backends.base import SessionBase

SESSION_KEY = "_trustgate"

# How the session got past the second factor.
NO_DEVICE = "none"  # the user has no confirmed OTP device: not our business
PENDING = "pending"  # password right, code still owed
OTP = "otp"  # a code was entered in this session
TRUSTED = "trusted_device"  # let in by a trusted device, no code entered
VERIFIED_STATUSES = frozenset({OTP, TRUSTED})


def agent_digest(user_agent: str) -> str:
    """A short digest of the raw user agent: cheaper to compare than to parse."""
    return hashlib.blake2b(user_agent.encode("utf-8", "replace"), digest_size=8).hexdigest()


@dataclass
class SessionState:
    uid: str
    status: str
    agent_digest: str = ""
    browser: str = ""
    os: str = ""
    device_class: str = ""
    otp_device: str = ""  # persistent id of the django-otp device that verified
    trusted_device: int | None = None  # TrustedDevice pk this browser holds
    otp_at: float | None = None  # when a code was last entered here
    pending_since: float | None = None
    reasons: list[str] = field(default_factory=list)
    session_key: str = ""  # the key the TrustedSession row was written under
    touched_at: float | None = None
    must_enroll: bool = False
    signed_in_at: float | None = None  # when this decision was made
    # The factor that verified: phishing-resistant (a passkey), and whether it
    # signed in alone, with no password (passwordless).
    phishing_resistant: bool = False
    passwordless: bool = False

    @classmethod
    def load(cls, session: SessionBase) -> SessionState | None:
        raw = session.get(SESSION_KEY)
        if not isinstance(raw, dict):
            return None
        # Fields another version wrote are left out rather than thrown away
        # with the whole record: deciding again would re-read the session
        # as freshly signed in.
        try:
            state = cls(**raw)
        except TypeError:
            known = {name: value for name, value in raw.items() if name in _FIELDS}
            try:
                state = cls(**known)
            except TypeError:  # a field this version needs is missing
                return None
        return state if state.status in _STATUSES else None

    def save(self, session: SessionBase) -> None:
        session[SESSION_KEY] = asdict(self)

    @property
    def verified(self) -> bool:
        return self.status in VERIFIED_STATUSES

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_FIELDS = frozenset(SessionState.__dataclass_fields__)
_STATUSES = frozenset({NO_DEVICE, PENDING, OTP, TRUSTED})
