"""Is the device a secret belongs to still one that may stand in for a code?

The pure rule (``trust.rules.policy``) with the site's settings, and the
one question it cannot answer from plain values: does the second factor
whose code created the trust still exist?
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django_otp.models import Device

from .. import dbsc
from ..conf import conf
from ..models import TrustedDevice
from ..rules import policy
from ..rules.fingerprint import Fingerprint


def assess(
    device: TrustedDevice | None, fp: Fingerprint, now: datetime, request: HttpRequest
) -> policy.Assessment:
    """The policy on ``device`` for ``request``: its bound cookie is read
    there when the device is bound to a browser key (``trust.dbsc``)."""
    proven = device is None or dbsc.proven(request, device)
    return policy.assess(device, fp, now, idle_timeout=conf.IDLE_TIMEOUT, key_proven=proven)


def authenticator_lives(device: TrustedDevice) -> bool:
    """SECURITY: trust is bound to the factor that created it (docs/security.md R27)."""
    otp_device = Device.from_persistent_id(device.otp_device)
    return otp_device is not None and otp_device.user_id == device.user_id and otp_device.confirmed
