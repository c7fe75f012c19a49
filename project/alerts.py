"""The demo site's security alerts: e-mails sent by receivers of Trustgate's signals.

A site replaces this with its own receivers (or disconnects these): the
apps only send signals, the site decides who hears about what, and how.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from otp_flow.models import BackupCodeDevice
from trust.flows import not_me
from trust.models import EventKind, SecurityEvent, TrustedDevice, TrustedSession

logger = logging.getLogger(__name__)

# What each alert says, by event kind. Kinds not listed send nothing. The
# mail is in the language of the request that caused it (the user's browser).
SUBJECTS: dict[str, Promise] = {
    EventKind.DEVICE_TRUSTED: _("A new device is trusted on your account"),
    EventKind.SUSPICIOUS_COOKIE: _("A copied sign-in cookie may be in use on your account"),
    EventKind.TWO_FACTOR_DISABLED: _("Two-factor authentication was turned off"),
    EventKind.TWO_FACTOR_ENABLED: _("Two-factor authentication was turned on"),
    EventKind.AUTHENTICATOR_REPLACED: _("Your authenticator app was replaced"),
    EventKind.SECOND_FACTOR_ADDED: _("A second factor was added to your account"),
    EventKind.SECOND_FACTOR_REMOVED: _("A second factor was removed from your account"),
    EventKind.BACKUP_CODE_USED: _("A backup code was used to sign in"),
    EventKind.BACKUP_CODES_REGENERATED: _("New backup codes were made"),
    EventKind.PASSWORD_CHANGED: _("Your password was changed"),
    EventKind.PASSWORD_RESET: _("Your password was reset"),
    EventKind.PASSWORD_FAILURES: _("Someone signed in to your account after many wrong passwords"),
    EventKind.NEW_COUNTRY: _("Someone signed in to your account from a new country"),
    EventKind.RISKY_SIGN_IN_PASSED: _("An unusual sign-in to your account was confirmed"),
    EventKind.RISKY_SIGN_IN_UNCHECKED: _("An unusual sign-in to your account was let in"),
}
# Alerts about a device carry a "this wasn't me" link that revokes it.
DEVICE_KINDS = frozenset({EventKind.DEVICE_TRUSTED, EventKind.SUSPICIOUS_COOKIE})
# Alerts about what a session did carry a link that ends that session. A
# second factor added or removed outside Trustgate's pages (the admin, a
# shell) was no session's doing: its alert has no link, only the devices page.
SESSION_KINDS = frozenset(
    {
        EventKind.BACKUP_CODE_USED,
        EventKind.TWO_FACTOR_DISABLED,
        # The risk model's alerts: the sign-in they are about is a session.
        EventKind.NEW_COUNTRY,
        EventKind.RISKY_SIGN_IN_PASSED,
        EventKind.RISKY_SIGN_IN_UNCHECKED,
    }
)


def _absolute(path: str, request: HttpRequest | None) -> str:
    return request.build_absolute_uri(path) if request is not None else path


def _live_device(event: SecurityEvent) -> TrustedDevice | None:
    if event.kind not in DEVICE_KINDS or event.device_id is None:
        return None
    return TrustedDevice.objects.filter(pk=event.device_id, revoked_at__isnull=True).first()


def _not_me_url(
    user: Any, event: SecurityEvent, device: TrustedDevice | None, request: HttpRequest | None
) -> str:
    """The one-time link that takes back what the event gave: the device, or
    (a backup code opens a session without trusting a device) the session."""
    if device is not None:
        return not_me.link(user.pk, request, device=device)
    if event.kind in SESSION_KINDS and request is not None:
        session = TrustedSession.objects.filter(
            user=user, session_key=request.session.session_key or ""
        ).first()
        if session is not None:
            return not_me.link(user.pk, request, session=session)
    return ""


def _backup_codes_left(user: Any) -> int:
    device = BackupCodeDevice.objects.filter(user=user).first()
    return device.remaining if device is not None else 0


def send_security_alert(
    sender: Any,
    user: Any,
    event: SecurityEvent,
    request: HttpRequest | None = None,
    **kwargs: Any,
) -> None:
    """Receiver of ``trust.signals.security_event``: e-mail the user about ``event``."""
    label = SUBJECTS.get(event.kind)
    address = getattr(user, "email", "")
    if label is None or not address:
        return
    # Without the user's request (the admin, a shell) the language active
    # now is someone else's, or none: the site's own then.
    language = translation.get_language() if request is not None else settings.LANGUAGE_CODE
    with translation.override(language):
        _send(user, event, label, address, request)


def _send(
    user: Any, event: SecurityEvent, label: Promise, address: str, request: HttpRequest | None
) -> None:
    subject = str(label)
    device = _live_device(event)
    context = {
        "user": user,
        "event": event,
        "subject": subject,
        "not_me_url": _not_me_url(user, event, device, request),
        "devices_url": _absolute(reverse("trust:devices"), request),
        "backup_codes_left": _backup_codes_left(user)
        if event.kind == EventKind.BACKUP_CODE_USED
        else None,
    }
    body = render_to_string("alerts/security_alert.txt", context)
    try:
        send_mail(subject, body, None, [address])
    except Exception:
        # A mail outage must not break the sign-in that caused the alert; the
        # event itself is in the security log.
        logger.exception("security alert %s for user %s not sent", event.kind, user.pk)
