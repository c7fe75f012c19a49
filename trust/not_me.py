"""One-time "this wasn't me" links: an alert e-mail's way to revoke a device.

The link carries a signed, timestamped claim (user, device), made with
``django.core.signing``. It works while the device is still trusted, so it
works once: using it revokes the device. It expires after
``TRUST_NOT_ME_LINK_MAX_AGE``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing
from django.http import HttpRequest
from django.urls import reverse

from .conf import conf
from .models import TrustedDevice

_SALT = "trust.not_me"


@dataclass(frozen=True)
class Claim:
    user_id: int
    device_id: int


def make_token(device: TrustedDevice) -> str:
    return signing.dumps({"u": device.user_id, "d": device.pk}, salt=_SALT)


def read_token(token: str) -> Claim | None:
    """The claim of a genuine, unexpired token, or ``None``."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=conf.NOT_ME_LINK_MAX_AGE)
        return Claim(int(data["u"]), int(data["d"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def link(device: TrustedDevice, request: HttpRequest | None = None) -> str:
    """The link for ``device``: absolute if the request that caused the alert is known."""
    path = reverse("trust:not_me", args=[make_token(device)])
    return request.build_absolute_uri(path) if request is not None else path


def device_for(claim: Claim | None, request: HttpRequest) -> TrustedDevice | None:
    """The still-trusted device the claim names, unless another user is signed in here."""
    if claim is None:
        return None
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.pk != claim.user_id:
        # SECURITY: a link is its addressee's; another signed-in user gets nothing.
        return None
    return TrustedDevice.objects.filter(
        pk=claim.device_id, user_id=claim.user_id, revoked_at__isnull=True
    ).first()
