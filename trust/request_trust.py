"""``request.trust``: how the current session got past the second factor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from .state import OTP, PENDING, TRUSTED, SessionState

# Values of ``RequestTrust.method``.
METHOD_OTP = "otp"  # a code was entered in this session
METHOD_TRUSTED_DEVICE = "trusted_device"  # a trusted device stood in for the code
METHOD_PASSWORD = "password"  # password only: no 2FA, or a code still owed
METHOD_PASSKEY = "passkey"  # signed in with a passkey alone (passwordless)


@dataclass(frozen=True)
class RequestTrust:
    """What the gate decided for this request's session.

    A trusted device stands in for the code at sign-in only: such a session
    is password-only in strength (NIST SP 800-63B-4 AAL1), which is why
    ``last_code_at`` is ``None`` for it and sensitive actions ask for a code.
    """

    method: str | None = None  # None: not signed in
    pending: bool = False  # a step-up is owed
    last_code_at: datetime | None = None
    reasons: tuple[str, ...] = ()
    trusted_device_id: int | None = None
    # The factor that verified this session resists phishing (a passkey: the
    # browser binds it to the site's origin), so the session is AAL2-capable.
    phishing_resistant: bool = False

    @property
    def verified(self) -> bool:
        return self.method in {METHOD_OTP, METHOD_TRUSTED_DEVICE, METHOD_PASSKEY}

    def code_entered_within(self, seconds: float, now: datetime | None = None) -> bool:
        """Was a code entered in this session in the last ``seconds``?"""
        if self.last_code_at is None:
            return False
        now = now or datetime.now(UTC)
        return 0 <= (now - self.last_code_at).total_seconds() <= seconds

    @classmethod
    def from_state(cls, state: SessionState | None) -> RequestTrust:
        if state is None:
            return cls()
        method = {OTP: METHOD_OTP, TRUSTED: METHOD_TRUSTED_DEVICE}.get(
            state.status, METHOD_PASSWORD
        )
        if method == METHOD_OTP and state.passwordless:
            method = METHOD_PASSKEY
        last_code_at = (
            datetime.fromtimestamp(state.otp_at, UTC) if state.otp_at is not None else None
        )
        return cls(
            method=method,
            pending=state.status == PENDING,
            last_code_at=last_code_at,
            reasons=tuple(state.reasons),
            trusted_device_id=state.trusted_device,
            phishing_resistant=state.status == OTP and state.phishing_resistant,
        )
