"""The gate's decision for a session: one record, its transitions, its view.

The middleware decides once per sign-in and keeps the outcome in the session
(``SessionState``), so a request of a session already verified or trusted
costs no query and no user-agent parse: it compares the record with the
session's user and a digest of the user agent, and goes on. The record is
read once per request (``SessionState.of``) and changed only through its
transition methods, which the flows call and then ``save()``.

``request.trust`` is the read-only view of it (``RequestTrust``): how the
session got past the second factor, in the public vocabulary of ``method``.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import MISSING, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from django.http import HttpRequest

from .rules.fingerprint import Fingerprint

SESSION_KEY = "_trustgate"
_REQUEST_ATTR = "_trustgate_state"


class Standing(StrEnum):
    """Where a session stands with its second factor: the one vocabulary.

    The session record stores one of the first four (``SessionState.status``;
    the strings are what earlier versions stored, so their sessions still
    read). ``request.trust.method`` shows one of ``OTP``, ``TRUSTED_BROWSER``,
    ``PASSWORD`` and ``PASSKEY`` (``None``: not signed in): a record of
    ``NO_FACTOR`` or ``OWES_CODE`` shows as ``PASSWORD``, one of ``OTP``
    verified by a passkey alone as ``PASSKEY``.
    """

    # Stored in the session record:
    NO_FACTOR = "none"  # the user has no confirmed second factor: password only
    OWES_CODE = "pending"  # password right, the session owes a code
    OTP = "otp"  # a code (or a passkey) was given in this session
    TRUSTED_BROWSER = "trusted_device"  # a trusted browser stood in for the code
    # Shown only, by ``request.trust.method``:
    PASSWORD = "password"  # password only: no second factor, or a code still owed
    PASSKEY = "passkey"  # signed in with a passkey alone (passwordless)


STORED = frozenset({Standing.NO_FACTOR, Standing.OWES_CODE, Standing.OTP, Standing.TRUSTED_BROWSER})
VERIFIED = frozenset({Standing.OTP, Standing.TRUSTED_BROWSER, Standing.PASSKEY})


def agent_digest(user_agent: str) -> str:
    """A short digest of the raw user agent: cheaper to compare than to parse."""
    return hashlib.blake2b(user_agent.encode("utf-8", "replace"), digest_size=8).hexdigest()


@dataclass
class SessionState:
    uid: str
    status: str  # one of STORED
    agent_digest: str = ""
    browser: str = ""
    os: str = ""
    device_class: str = ""
    otp_device: str = ""  # persistent id of the django-otp device (second factor) that verified
    trusted_device: int | None = None  # TrustedDevice pk this browser holds
    otp_at: float | None = None  # when a code was last entered here
    pending_since: float | None = None
    reasons: list[str] = field(default_factory=list)
    session_key: str = ""  # the key the TrustedSession row was written under
    touched_at: float | None = None
    must_enroll: bool = False
    signed_in_at: float | None = None  # when this decision was made
    # The factor that verified: phishing-resistant (a passkey), and whether it
    # signed in alone, with no password (passwordless).
    phishing_resistant: bool = False
    passwordless: bool = False
    # The risk model (trust.flows.sign_in_history): the sign-in's history row, and
    # whether the code owed is one e-mailed to a user without 2FA.
    attempt: int | None = None
    email_code: bool = False
    # Refused by the risk model: never saved, the session is ended instead.
    refused: bool = False
    # This session was handed a rotated secret whose double-click grace is
    # open (trust.flows.rotation): the ``SupersededToken`` that holds it, and
    # when the grace ends anyway. The first request of the session ends it.
    grace_record: int | None = None
    grace_until: float | None = None

    # --- made, read and kept ------------------------------------------------

    @classmethod
    def signing_in(cls, user: Any, fp: Fingerprint, raw_user_agent: str) -> SessionState:
        """A fresh record for ``user`` signing in on the browser ``fp`` describes."""
        return cls(
            uid=str(user.pk),
            status=Standing.NO_FACTOR,
            agent_digest=agent_digest(raw_user_agent),
            browser=fp.agent.browser,
            os=fp.agent.os,
            device_class=fp.agent.device_class,
            signed_in_at=time.time(),
        )

    @classmethod
    def of(cls, request: HttpRequest) -> SessionState | None:
        """The record of ``request``'s session, read from the session once."""
        if SESSION_KEY not in request.session:
            return None  # never decided, or signed out (flushed) meanwhile
        cached = getattr(request, _REQUEST_ATTR, None)
        if cached is None:
            cached = cls._load(request.session.get(SESSION_KEY))
            setattr(request, _REQUEST_ATTR, cached)
        return cached

    @classmethod
    def _load(cls, raw: object) -> SessionState | None:
        if not isinstance(raw, dict):
            return None
        # Fields another version wrote are left out rather than thrown away
        # with the whole record: deciding again would re-read the session
        # as freshly signed in.
        known = raw if raw.keys() <= _FIELDS else {k: v for k, v in raw.items() if k in _FIELDS}
        try:
            state = cls(**known)
        except TypeError:  # a field this version needs is missing
            return None
        if isinstance(state.reasons, list):
            state.reasons = list(state.reasons)  # not the session's own list
        return state if state.status in STORED else None

    def save(self, request: HttpRequest) -> None:
        # Only what differs from the defaults: the session is decoded on
        # every request, and a record of 22 keys was most of its size.
        # Shallow: every field is a str, number, bool or None but the list
        # (dataclasses.asdict deep-copies each value: ~30 us a save).
        record = {
            name: value
            for name in _FIELD_NAMES
            if (value := getattr(self, name)) != _DEFAULT_VALUES.get(name, _REQUIRED)
        }
        if self.reasons:
            record["reasons"] = list(self.reasons)
        request.session[SESSION_KEY] = record
        setattr(request, _REQUEST_ATTR, self)

    # --- transitions ----------------------------------------------------------

    def owe_code(self, reasons: list[str]) -> None:
        """A code is owed before the session goes on (a new browser, trust lapsed...)."""
        self.status, self.pending_since = Standing.OWES_CODE, time.time()
        self.reasons = list(reasons)

    def owe_email_code(self, reasons: list[str]) -> None:
        """A user without 2FA owes a code e-mailed to them (a risky sign-in)."""
        self.owe_code(reasons)
        self.email_code = True

    def email_code_passed(self) -> None:
        """The e-mailed code was given: password-only again, nothing owed.

        An e-mailed code is not a second factor: the session is not verified.
        """
        self.status, self.pending_since, self.reasons = Standing.NO_FACTOR, None, []
        self.email_code = False

    def refuse(self, reasons: list[str]) -> None:
        """The risk model refused the sign-in: the session is ended."""
        self.refused, self.reasons = True, list(reasons)

    def verified_by(
        self, otp_device: str, *, phishing_resistant: bool = False, passwordless: bool = False
    ) -> None:
        """A code (or passkey) from ``otp_device`` was just given in this session."""
        self.status, self.otp_device, self.otp_at = Standing.OTP, otp_device, time.time()
        self.pending_since, self.reasons, self.must_enroll = None, [], False
        self.phishing_resistant = phishing_resistant
        self.passwordless = self.passwordless or passwordless

    def trusted_by(self, device: int, otp_device: str, reasons: list[str]) -> None:
        """The trusted browser ``device`` (a ``TrustedDevice`` pk, made by a code from the
        django-otp device ``otp_device``) let the session in."""
        self.status, self.otp_device = Standing.TRUSTED_BROWSER, otp_device
        self.trusted_device, self.touched_at = device, time.time()
        self.reasons = list(reasons)

    def handed_successor(self, record: int, until: float) -> None:
        """This session's answer carries the secret ``record`` keeps for a double click."""
        self.grace_record, self.grace_until = record, until

    def grace_ended(self) -> None:
        self.grace_record = self.grace_until = None

    def holds_device(self, device: int) -> None:
        """This browser is now the trusted browser ``device`` (a ``TrustedDevice`` pk, made
        after a code passed here)."""
        self.trusted_device, self.touched_at = device, time.time()

    def factor_removed(self) -> None:
        """The user has no second factor any more: nothing is owed, nothing verified."""
        self.status, self.otp_device, self.otp_at = Standing.NO_FACTOR, "", None
        self.trusted_device, self.reasons = None, []
        self.phishing_resistant = self.passwordless = False

    # --- what it says -----------------------------------------------------------

    def touch_due(self, interval: timedelta, now: float | None = None) -> bool:
        """Is it time for a session let in by trust to check that trust again?

        Pure, so the async middleware knows without a query whether the
        check (``admission.touch``, a query) is needed at all.
        """
        if self.status != Standing.TRUSTED_BROWSER or self.trusted_device is None:
            return False
        now = time.time() if now is None else now
        return not (self.touched_at and now - self.touched_at < interval.total_seconds())

    def grace_open(self, now: float | None = None) -> bool:
        """Is the double-click grace of the secret this session was handed still open?

        Pure: past ``grace_until`` it closed on its own, and nothing is written.
        """
        if self.grace_record is None or self.grace_until is None:
            return False
        return (time.time() if now is None else now) < self.grace_until

    @property
    def verified(self) -> bool:
        return self.status in (Standing.OTP, Standing.TRUSTED_BROWSER)

    @property
    def pending(self) -> bool:
        """The session owes a code (the public name, ``request.trust.pending``)."""
        return self.status == Standing.OWES_CODE

    @property
    def password_only(self) -> bool:
        """Decided while the user had no second factor (turning one on ends it)."""
        return self.status == Standing.NO_FACTOR

    @property
    def method(self) -> Standing:
        """The standing ``request.trust.method`` shows for this record."""
        if self.status == Standing.TRUSTED_BROWSER:
            return Standing.TRUSTED_BROWSER
        if self.status == Standing.OTP:
            return Standing.PASSKEY if self.passwordless else Standing.OTP
        return Standing.PASSWORD

    def view(self) -> RequestTrust:
        return RequestTrust(
            method=self.method,
            pending=self.pending,
            last_code_at=(
                datetime.fromtimestamp(self.otp_at, UTC) if self.otp_at is not None else None
            ),
            reasons=tuple(self.reasons),
            trusted_device_id=self.trusted_device,
            phishing_resistant=self.status == Standing.OTP and self.phishing_resistant,
        )


_FIELD_NAMES = tuple(SessionState.__dataclass_fields__)
_REQUIRED = object()
# The defaults a saved record leaves out (``reasons``' default is an empty
# list: left out when empty). Equality, not identity: 0.0 is not None.
_DEFAULT_VALUES = {f.name: f.default for f in fields(SessionState) if f.default is not MISSING}
_DEFAULT_VALUES["reasons"] = []
_FIELDS = frozenset(_FIELD_NAMES)


@dataclass(frozen=True)
class RequestTrust:
    """``request.trust``: what the gate decided for this request's session.

    A trusted browser stands in for the code at sign-in only: such a session
    is password-only in strength (NIST SP 800-63B-4 AAL1), which is why
    ``last_code_at`` is ``None`` for it and sensitive actions ask for a code.
    """

    method: Standing | None = None  # one of VERIFIED or PASSWORD; None: not signed in
    pending: bool = False  # the session owes a code
    last_code_at: datetime | None = None
    reasons: tuple[str, ...] = ()
    trusted_device_id: int | None = None
    # The factor that verified this session resists phishing (a passkey: the
    # browser binds it to the site's origin), so the session is AAL2-capable.
    phishing_resistant: bool = False

    @property
    def verified(self) -> bool:
        return self.method in VERIFIED

    def code_entered_within(self, seconds: float, now: datetime | None = None) -> bool:
        """Was a code entered in this session in the last ``seconds``?"""
        if self.last_code_at is None:
            return False
        now = now or datetime.now(UTC)
        return 0 <= (now - self.last_code_at).total_seconds() <= seconds


NOT_SIGNED_IN = RequestTrust()
