"""DRF permissions that ask ``request.trust`` how the session passed the gate."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import django_otp
from django.contrib import auth
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission, OperationHolderMixin

from trust.conf import conf
from trust.http import VERIFY_URL_NAME
from trust.state import RequestTrust, Standing


def session_trust(request: Any) -> RequestTrust | None:
    """``request.trust``, when it speaks for DRF's ``request.user``.

    ``request.trust`` describes the request's session. DRF's user comes from
    whichever authenticator succeeded first (a token, HTTP Basic, the
    session), so the two are the same person only when the session is signed
    in as that user.
    """
    # SECURITY: a session of one user (verified) and a token of another in
    # the same request must not lend the first one's trust to the second.
    user = request.user
    if not user.is_authenticated:
        return None
    session_uid = request.session.get(auth.SESSION_KEY)
    if session_uid is None or str(session_uid) != user._meta.pk.value_to_string(user):
        return None
    trust = getattr(request, "trust", None)
    if not isinstance(trust, RequestTrust) or trust.pending:
        return None
    return trust


def has_no_second_factor(request: Any, trust: RequestTrust) -> bool:
    """A password-only session of a user with no second factor to give."""
    if trust.method != Standing.PASSWORD:
        return False
    user = request.user
    # SECURITY: the database's word, not the session's: a session decided just
    # before 2FA was turned on is no exception. Users the site requires to
    # enroll are no exception either.
    if django_otp.user_has_device(user):
        return False
    must_enroll = conf.ENROLLMENT_REQUIRED
    return not (must_enroll is not None and must_enroll(user))


def _code_required() -> dict[str, Any]:
    return {
        "error": "code_required",
        "detail": _("Enter a code from your authenticator app first."),
        "verify_url": reverse(VERIFY_URL_NAME),
    }


class IsVerified(BasePermission):
    """The session passed the second factor: a code, or a trusted device.

    ``request.user.is_verified()`` in DRF's terms: a user without a second
    factor is refused, as is a request without a session (a token, HTTP Basic).
    """

    @property
    def message(self) -> dict[str, Any]:
        return _code_required()

    def has_permission(self, request: Any, view: Any) -> bool:
        trust = session_trust(request)
        return trust is not None and trust.verified


class RecentCode(OperationHolderMixin, BasePermission):
    """A code entered in this session within ``minutes`` (sudo mode for APIs).

    ``permission_classes = [RecentCode]`` (10 minutes) or
    ``[RecentCode(minutes=5)]``. A trusted device stands in for the code at
    sign-in only, so its session is refused until a code is entered; a token
    never counts as a code. A user with no second factor has no code to give
    and passes, as with ``otp_flow.sudo.sudo_required``.
    """

    def __init__(self, minutes: float = 10) -> None:
        self.max_age = timedelta(minutes=minutes)

    def __call__(self) -> RecentCode:
        # DRF instantiates each entry of permission_classes: an instance
        # configured in the list stands for itself.
        return self

    @property
    def message(self) -> dict[str, Any]:
        return _code_required()

    def has_permission(self, request: Any, view: Any) -> bool:
        trust = session_trust(request)
        if trust is None:
            return False
        if trust.code_entered_within(self.max_age.total_seconds()):
            return True
        return has_no_second_factor(request, trust)


class PassedGate(BasePermission):
    """What ``ObtainTokenView`` asks (its ``requires_code``).

    By default a code or a trusted device; with ``requires_code`` a code
    entered in this session. A user with no second factor passes either way
    (the site's ``TRUST_ENROLLMENT_REQUIRED`` users excepted): their session
    is as strong as their account allows, as DRF's own token view would have it.
    """

    @property
    def message(self) -> dict[str, Any]:
        return _code_required()

    def has_permission(self, request: Any, view: Any) -> bool:
        trust = session_trust(request)
        if trust is None:
            return False
        # SECURITY: anything but a plain False asks for the stronger (a code).
        if getattr(view, "requires_code", True) is False:
            passed = trust.verified
        else:
            passed = trust.last_code_at is not None
        return passed or has_no_second_factor(request, trust)
