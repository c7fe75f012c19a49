"""System checks of the ``otp_flow`` settings, with stable ids."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.checks import CheckMessage, Error, register

from .conf import conf

NIST_MAX_FAILURES = 100  # NIST SP 800-63B §5.2.2 / 800-63B-4 §3.2.2


@register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    limit = conf.MAX_FAILURES
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= NIST_MAX_FAILURES:
        errors.append(
            Error(
                f"OTP_FLOW_MAX_FAILURES must be between 1 and {NIST_MAX_FAILURES}, not {limit!r}.",
                hint="NIST SP 800-63B allows at most 100 consecutive failed codes.",
                id="otp_flow.E001",
            )
        )
    timeout = conf.SUDO_TIMEOUT
    if not isinstance(timeout, timedelta) or timeout <= timedelta(0):
        errors.append(
            Error(
                f"OTP_FLOW_SUDO_TIMEOUT must be a positive timedelta, not {timeout!r}.",
                id="otp_flow.E002",
            )
        )
    return errors
