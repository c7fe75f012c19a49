"""The risk model's public API: what a site's own signal receives and returns.

A signal is a function named by its dotted path in ``TRUST_RISK_SIGNALS``::

    from trust.risk import STEP_UP, RiskContext, SignalResult

    def payroll_hours(context: RiskContext) -> SignalResult:
        if context.features.at.hour < 6:
            return SignalResult(("night_sign_in",), STEP_UP)
        return SignalResult()

It gets the sign-in's ``RiskContext`` (its ``features``: address, network,
ASN, country, browser, OS, device class and time; the ``score``; whether a
trusted device came with it; the user's previous country) and answers with
reasons and the action it asks for at least: ``ALLOW``, ``STEP_UP`` (a code)
or ``DENY``. A signal that raises asks for a code (``signal_error``).

The model itself (``trust.rules.risk``, ``trust.flows.risk``) is private.
"""

from __future__ import annotations

from .rules.risk.decision import ALLOW, DENY, STEP_UP, RiskContext, Signal, SignalResult
from .rules.risk.features import SignInFeatures

__all__ = [
    "ALLOW",
    "DENY",
    "STEP_UP",
    "RiskContext",
    "SignInFeatures",
    "Signal",
    "SignalResult",
]
