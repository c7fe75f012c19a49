"""One-time "this wasn't me" links: an alert e-mail's way to take access back.

The link carries a signed, timestamped claim made with ``django.core.signing``:
a user and either the trusted device the alert is about, or the session it
is about (a backup code opens a session without trusting any device). Using
it revokes that device, or ends that session (and revokes its device, if it
has one), so it works once. It expires after ``LINK_MAX_AGE`` (7 days).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.core import signing
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext

from ..models import TrustedDevice, TrustedSession

_SALT = "trust.not_me"
# How long a link in an alert e-mail works (once).
LINK_MAX_AGE = timedelta(days=7)
URL_NAME = "trust:not_me"


@dataclass(frozen=True)
class Claim:
    user_id: int
    device_id: int | None = None
    session_id: int | None = None


@dataclass(frozen=True)
class Target:
    """What a link still reaches: a live device, a live session, or both."""

    device: TrustedDevice | None
    session: TrustedSession | None

    @property
    def name(self) -> str:
        return self.device.name if self.device is not None else gettext("that sign-in")


def make_token(
    user_id: int, *, device: TrustedDevice | None = None, session: TrustedSession | None = None
) -> str:
    claim = {"u": user_id}
    if device is not None:
        claim["d"] = device.pk
    if session is not None:
        claim["s"] = session.pk
    return signing.dumps(claim, salt=_SALT)


def read_token(token: str) -> Claim | None:
    """The claim of a genuine, unexpired token, or ``None``."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=LINK_MAX_AGE)
        device, session = data.get("d"), data.get("s")
        claim = Claim(
            int(data["u"]),
            int(device) if device is not None else None,
            int(session) if session is not None else None,
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError, AttributeError):
        return None
    return claim if claim.device_id is not None or claim.session_id is not None else None


def link(
    user_id: int,
    request: HttpRequest | None = None,
    *,
    device: TrustedDevice | None = None,
    session: TrustedSession | None = None,
) -> str:
    """The link: absolute if the request that caused the alert is known."""
    path = reverse(URL_NAME, args=[make_token(user_id, device=device, session=session)])
    return request.build_absolute_uri(path) if request is not None else path


def target_for(claim: Claim | None, request: HttpRequest) -> Target | None:
    """What the claim still reaches, unless another user is signed in here."""
    if claim is None:
        return None
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.pk != claim.user_id:
        # SECURITY: a link is its addressee's; another signed-in user gets nothing.
        return None
    session = None
    if claim.session_id is not None:
        session = (
            TrustedSession.objects.filter(pk=claim.session_id, user_id=claim.user_id)
            .select_related("device")
            .first()
        )
    device_id = claim.device_id if claim.device_id is not None else None
    if device_id is None and session is not None:
        device_id = session.device_id
    device = (
        TrustedDevice.objects.filter(
            pk=device_id, user_id=claim.user_id, revoked_at__isnull=True
        ).first()
        if device_id is not None
        else None
    )
    if device is None and session is None:
        return None
    return Target(device, session)
