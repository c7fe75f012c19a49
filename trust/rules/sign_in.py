"""The ruling on a sign-in: the device policy and the risk model, combined.

Pure: plain values in, a ``Ruling`` out. ``trust.flows.admission.begin``
gathers the inputs (recognition, then the risk model), asks ``decide`` once
and applies the ruling (session record, cookie, revocations, events,
history). No other place decides whether a sign-in whose password was right
goes on, owes a code or is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from . import policy
from .risk import decision as risk


class Outcome(StrEnum):
    LET_IN = "let_in"  # no second factor asked: a user without 2FA, nothing risky
    VERIFIED = "verified"  # django-otp verified this session already (a passkey sign-in)
    TRUSTED = "trusted"  # a recognized trusted browser stands in for the code
    OWES_CODE = "owes_code"  # the user's second factor
    OWES_EMAIL_CODE = "owes_email_code"  # a user without 2FA: a code by e-mail
    UNCHECKED = "unchecked"  # an e-mailed code owed, no address, the site lets in
    REFUSED = "refused"  # the session ends before anything is answered with it


@dataclass(frozen=True)
class Ruling:
    outcome: Outcome
    reasons: tuple[str, ...] = ()


def decide(
    *,
    has_factor: bool,
    verified: bool = False,
    recognition: policy.Assessment | None = None,
    risk_decision: risk.RiskDecision | None = None,
    burst_unpaid: bool = False,
    email_reachable: bool = False,
    refuse_unreachable: bool = False,
) -> Ruling:
    """The ruling on a sign-in whose password (or passkey) was right.

    ``recognition``: the device policy on the presented trusted-browser
    secret (2FA users). ``risk_decision``: the risk model's word (``None``:
    not weighed: the model is off, or no password was checked).
    ``burst_unpaid``: a burst of wrong passwords hit the user since their
    last code; only read when the model did not weigh the sign-in (the model
    counts the burst itself). ``email_reachable``: a code can be e-mailed to
    a user without 2FA; ``refuse_unreachable``: the site refuses when not.

    SECURITY: the risk model can only take a recognition away, never give
    one; ``deny`` refuses whatever the device says. A burst of wrong
    passwords owes a code even on a trusted browser (a trusted browser makes
    the password the only factor, and a burst means someone guesses it).
    """
    if not has_factor:
        return _without_factor(risk_decision, email_reachable, refuse_unreachable)
    if verified:
        return Ruling(Outcome.VERIFIED)
    recognition = recognition or policy.Assessment(False, (policy.NEW_DEVICE,))
    reasons = recognition.reasons
    if risk_decision is None:
        if burst_unpaid:
            return Ruling(Outcome.OWES_CODE, (*reasons, policy.PASSWORD_FAILURES))
        return Ruling(Outcome.TRUSTED if recognition.recognized else Outcome.OWES_CODE, reasons)
    if risk_decision.action == risk.DENY:
        return Ruling(Outcome.REFUSED, risk_decision.reasons)
    if not recognition.recognized:
        # A code is owed anyway: the device's reasons say why; the model's
        # go to the sign-in history.
        return Ruling(Outcome.OWES_CODE, reasons)
    if risk_decision.action == risk.ALLOW:
        return Ruling(Outcome.TRUSTED, reasons)
    extra = tuple(r for r in risk_decision.reasons if r not in reasons)
    return Ruling(Outcome.OWES_CODE, (*reasons, *extra))


def _without_factor(
    found: risk.RiskDecision | None, email_reachable: bool, refuse_unreachable: bool
) -> Ruling:
    """A user without 2FA: a risky sign-in owes a code by e-mail."""
    if found is None or found.action == risk.ALLOW:
        return Ruling(Outcome.LET_IN)
    if found.action == risk.DENY:
        return Ruling(Outcome.REFUSED, found.reasons)
    if email_reachable:
        return Ruling(Outcome.OWES_EMAIL_CODE, found.reasons)
    if refuse_unreachable:
        return Ruling(Outcome.REFUSED, found.reasons)
    return Ruling(Outcome.UNCHECKED, found.reasons)
