"""A word for a browser signed out from elsewhere: why its session ended.

Revoking a device (from another browser, an alert's link, the admin) ends
its sessions in the store. Its next request carries a session cookie that
names no session and the device cookie of a device now revoked: the gate
asks ``notice()`` (one query, only on that request: the response drops the
dead session cookie) and ``tell()`` leaves the reason in Django's messages
for the sign-in page the browser is sent to.

SECURITY: the message lives in the messages storage of the new, anonymous
state (the messages cookie, or a fresh session), never in the session that
was ended; it names no other device, address or person, only what this
browser's own cookie proves: that its trust was taken back, and by whom.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.messages.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..cookie import presented_secrets
from ..models import TrustedDevice
from ..rules import tokens

# The revocations that end a browser's sessions from elsewhere, in words.
NOTICES = {
    "revoked_by_user": _(
        "This device was signed out from another of your devices, and is no longer "
        "trusted. Sign in again, with a code."
    ),
    "reported_by_user": _(
        "This device was signed out from a security alert's \"this wasn't me\" link, "
        "and is no longer trusted. Sign in again, with a code."
    ),
    "revoked_by_admin": _(
        "An administrator signed this device out, and it is no longer trusted. "
        "Sign in again, with a code."
    ),
    "authenticator_removed": _(
        "The authenticator this device was trusted with was removed, so it was "
        "signed out. Sign in again."
    ),
}


def has_dead_session(request: HttpRequest) -> bool:
    """A session cookie came, and it names no session (read already)."""
    return (
        bool(request.COOKIES.get(settings.SESSION_COOKIE_NAME))
        and request.session.accessed
        and request.session.is_empty()
    )


def notice(request: HttpRequest) -> str | None:
    """Why this browser's session ended, if its own device cookie says so."""
    hashes = [tokens.hash_secret(secret) for secret in presented_secrets(request)]
    if not hashes:
        return None
    # A session ended no longer ago than a session cookie lives.
    since = timezone.now() - timedelta(seconds=settings.SESSION_COOKIE_AGE)
    device = (
        TrustedDevice.objects.filter(
            token_hash__in=hashes, revoked_at__gte=since, revoked_reason__in=list(NOTICES)
        )
        .order_by("-revoked_at")
        .first()
    )
    return str(NOTICES[device.revoked_reason]) if device is not None else None


def tell(request: HttpRequest, response: HttpResponse, text: str) -> None:
    """Leave ``text`` for the next page that shows messages (the sign-in page)."""
    if "django.contrib.messages" not in settings.INSTALLED_APPS:
        return
    storage = default_storage(request)
    storage.add(messages.INFO, text)
    storage.update(response)
