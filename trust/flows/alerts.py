"""Security alert e-mails, sent when ``TRUST_ALERT_EMAILS`` is on.

The receiver of ``trust.signals.security_event`` (connected in
``TrustConfig.ready()``; the signal itself goes out after the commit). Each
alert is a plain-text mail with an HTML alternative, rendered from
templates a site overrides by putting its own first in its template
directories (docs/alerts.md):

- ``trust/alerts/<kind>_subject.txt``, else the subject below;
- ``trust/alerts/<kind>.txt``, else ``trust/alerts/alert.txt``;
- ``trust/alerts/<kind>.html``, else ``trust/alerts/alert.html``.

A site wanting other mails leaves the setting off and listens to the signal.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.http import HttpRequest
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string, select_template
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from ..conf import conf
from ..models import EventKind, SecurityEvent, TrustedDevice, TrustedSession
from . import not_me

logger = logging.getLogger(__name__)

# What each alert says, by event kind. Kinds not listed send nothing.
SUBJECTS: dict[str, Promise] = {
    EventKind.DEVICE_TRUSTED: _("A new device is trusted on your account"),
    EventKind.SUSPICIOUS_COOKIE: _("A copied sign-in cookie may be in use on your account"),
    EventKind.TWO_FACTOR_DISABLED: _("Two-factor authentication was turned off"),
    EventKind.TWO_FACTOR_ENABLED: _("Two-factor authentication was turned on"),
    EventKind.AUTHENTICATOR_REPLACED: _("Your authenticator app was replaced"),
    EventKind.SECOND_FACTOR_ADDED: _("A second factor was added to your account"),
    EventKind.SECOND_FACTOR_REMOVED: _("A second factor was removed from your account"),
    EventKind.PASSKEY_ADDED: _("A passkey was added to your account"),
    EventKind.PASSKEY_REMOVED: _("A passkey was removed from your account"),
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
# second factor added or removed outside the apps' pages (the admin, a
# shell) was no session's doing: its alert has no link, only the devices page.
SESSION_KINDS = frozenset(
    {
        EventKind.BACKUP_CODE_USED,
        EventKind.TWO_FACTOR_DISABLED,
        EventKind.PASSKEY_ADDED,
        EventKind.PASSKEY_REMOVED,
        # The risk model's alerts: the sign-in they are about is a session.
        EventKind.NEW_COUNTRY,
        EventKind.RISKY_SIGN_IN_PASSED,
        EventKind.RISKY_SIGN_IN_UNCHECKED,
    }
)


def send_security_alert(
    sender: Any,
    user: Any,
    event: SecurityEvent,
    request: HttpRequest | None = None,
    **kwargs: Any,
) -> None:
    """Receiver of ``security_event``: e-mail the user about ``event``, if on."""
    if not conf.ALERT_EMAILS or event.kind not in SUBJECTS:
        return
    address = getattr(user, "email", "")
    if not address:
        return
    with translation.override(_language(request)):
        message = build(user, event, address, request)
    try:
        message.send()
    except Exception:
        # A mail outage must not break the sign-in that caused the alert; the
        # event itself is in the security log.
        logger.exception("security alert %s for user %s not sent", event.kind, user.pk)


def _language(request: HttpRequest | None) -> str:
    """The language of the request that caused the alert (the user's browser).

    Without one (the admin, a shell) the active language is someone else's,
    or none: the site's own then.
    """
    if request is None:
        return settings.LANGUAGE_CODE
    return getattr(request, "LANGUAGE_CODE", None) or translation.get_language() or "en"


def build(
    user: Any, event: SecurityEvent, address: str, request: HttpRequest | None
) -> EmailMultiAlternatives:
    """The alert about ``event``, in the active language."""
    context = _context(user, event, request)
    kind = str(event.kind)
    try:
        subject: str = render_to_string(f"trust/alerts/{kind}_subject.txt", context)
    except TemplateDoesNotExist:
        subject = str(context["subject"])
    # A subject is one line, whatever a template left around it.
    subject = " ".join(subject.split())
    context["subject"] = subject
    text = select_template([f"trust/alerts/{kind}.txt", "trust/alerts/alert.txt"])
    html = select_template([f"trust/alerts/{kind}.html", "trust/alerts/alert.html"])
    message = EmailMultiAlternatives(subject, text.render(context), None, [address])
    message.attach_alternative(html.render(context), "text/html")
    return message


def _context(user: Any, event: SecurityEvent, request: HttpRequest | None) -> dict[str, Any]:
    device = _live_device(event)
    return {
        "user": user,
        "event": event,
        "kind": str(event.kind),
        "subject": SUBJECTS[event.kind],
        "not_me_url": _not_me_url(user, event, device, request),
        "devices_url": _absolute(reverse("trust:devices"), request),
        "backup_codes_left": _backup_codes_left(user)
        if event.kind == EventKind.BACKUP_CODE_USED
        else None,
    }


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
    if event.kind in SESSION_KINDS and request is not None and hasattr(request, "session"):
        session = TrustedSession.objects.filter(
            user=user, session_key=request.session.session_key or ""
        ).first()
        if session is not None:
            return not_me.link(user.pk, request, session=session)
    return ""


def _backup_codes_left(user: Any) -> int | None:
    """How many unused backup codes the user has, if a device says so.

    ``trust`` knows no code pages: it asks django-otp for the user's devices
    and reads the one that counts what is left (``remaining``).
    """
    from django_otp import devices_for_user

    for device in devices_for_user(user, confirmed=None):
        remaining = getattr(device, "remaining", None)
        if isinstance(remaining, int):
            return remaining
    return None
