"""Settings of the ``otp_flow`` app, each with its documented default.

=============================  ===========  ==============================================
Setting                        Default      Meaning
=============================  ===========  ==============================================
OTP_FLOW_SUDO_TIMEOUT          10 minutes   A code entered this recently lets a session
                                            do sensitive things (turn 2FA off, ...).
OTP_FLOW_TRUST_BY_DEFAULT      True         "Trust this device" starts checked.
OTP_FLOW_DEVICE_NAME           "Authenticator"  Name of a newly enrolled TOTP device.
=============================  ===========  ==============================================

django-otp's own settings keep their meaning: ``OTP_TOTP_ISSUER`` labels the
authenticator entry, ``OTP_TOTP_THROTTLE_FACTOR`` sets the back-off.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings

_DEFAULTS: dict[str, Any] = {
    "OTP_FLOW_SUDO_TIMEOUT": timedelta(minutes=10),
    "OTP_FLOW_TRUST_BY_DEFAULT": True,
    "OTP_FLOW_DEVICE_NAME": "Authenticator",
}


def _get(name: str) -> Any:
    return getattr(settings, name, _DEFAULTS[name])


class Conf:
    @property
    def SUDO_TIMEOUT(self) -> timedelta:
        return _get("OTP_FLOW_SUDO_TIMEOUT")

    @property
    def TRUST_BY_DEFAULT(self) -> bool:
        return bool(_get("OTP_FLOW_TRUST_BY_DEFAULT"))

    @property
    def DEVICE_NAME(self) -> str:
        return _get("OTP_FLOW_DEVICE_NAME")


conf = Conf()
