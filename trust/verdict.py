"""The gate's verdict: one pure function from the session's record to what to do.

``TrustMiddleware`` loads the record (``trust.state.SessionState``), asks
``verdict()`` what to do with this request, and applies the answer; its sync
and async paths share this function, so a branch fixed here is fixed for
both. Nothing here reads the database, the session or the clock: the
middleware passes the record, the session's user id, a digest of the
request's user agent, the matched URL and the time, and the tests pass
plain values (tests/unit/test_verdict.py).

Some verdicts are work the middleware does first (``WORK``: decide a
sign-in, end a session past its lifetime, recheck a changed user agent,
touch the trust a session rests on); it then asks again with ``fresh=True``,
which never answers work, so a request does at most one piece of it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from .state import SessionState


class Verdict(enum.Enum):
    GO_ON = "go on"  # the view answers
    STEP_UP = "step up"  # a code is owed: the code page (or the JSON 401)
    ENROLL = "enroll"  # a second factor must be set up first
    SIGN_OUT = "sign out"  # a code owed too long (TRUST_PENDING_TIMEOUT): signed out
    REFUSED = "refused"  # the risk model refused the sign-in (the session is ended)
    # Work before the answer (the middleware then asks again, fresh):
    BEGIN = "begin"  # first request of a sign-in (or of another user): decide it
    END_SESSION = "end session"  # past the absolute lifetime: signed out quietly
    RECHECK = "recheck"  # the user agent changed: same kind of browser, or step up
    TOUCH = "touch"  # due: refresh the trust this session rests on, end a grace


WORK = frozenset({Verdict.BEGIN, Verdict.END_SESSION, Verdict.RECHECK, Verdict.TOUCH})


class Route(Protocol):
    """What the gate needs of the URL asked for (read only when it matters)."""

    @property
    def exempt(self) -> bool:
        """May a session that owes a code reach it?"""

    @property
    def exempt_from_enrollment(self) -> bool:
        """May a session that must enroll reach it?"""


@dataclass(frozen=True)
class FixedRoute:
    """A ``Route`` of plain values (a response already made, the unit tests)."""

    exempt: bool = False
    exempt_from_enrollment: bool = False


NOT_EXEMPT = FixedRoute()


@dataclass(frozen=True)
class Limits:
    """The times the verdict weighs (``trust.conf`` gives the site's)."""

    pending_timeout: timedelta
    touch_interval: timedelta
    session_lifetime: timedelta | None = None


def verdict(
    state: SessionState | None,
    *,
    uid: str | None,
    agent: str,
    route: Route,
    now: float,
    limits: Limits,
    fresh: bool = False,
) -> Verdict:
    """What the gate does with a request of the session ``state`` records.

    ``uid``: the session's user id (``None``: nobody signed in); ``agent``:
    ``trust.state.agent_digest`` of the request's user agent; ``fresh``: the
    record was decided (or rechecked) in this very request, so no work is
    left but the answer.
    """
    if uid is None:
        return Verdict.GO_ON
    if state is None or state.uid != uid:
        # SECURITY: a session whose user has no record of this gate's (or
        # another user's) is decided before anything answers it.
        return Verdict.GO_ON if fresh else Verdict.BEGIN
    if state.refused:
        return Verdict.REFUSED
    if not fresh:
        if _too_old(state, now, limits.session_lifetime):
            return Verdict.END_SESSION
        if state.verified:
            if state.agent_digest != agent:
                return Verdict.RECHECK
            if state.grace_open(now) or state.touch_due(limits.touch_interval, now):
                return Verdict.TOUCH
    if state.pending:
        if now - (state.pending_since or 0.0) > limits.pending_timeout.total_seconds():
            return Verdict.SIGN_OUT
        return Verdict.GO_ON if route.exempt else Verdict.STEP_UP
    if state.password_only and state.must_enroll and not route.exempt_from_enrollment:
        return Verdict.ENROLL
    return Verdict.GO_ON


def _too_old(state: SessionState, now: float, lifetime: timedelta | None) -> bool:
    """Past the absolute session lifetime, whatever its activity (NIST §2.2.3)."""
    if lifetime is None or state.signed_in_at is None:
        return False
    return now - state.signed_in_at > lifetime.total_seconds()
