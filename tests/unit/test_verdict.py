"""``trust.verdict.verdict``: the gate's one decision, from plain values.

The record, the session's user id, the user agent's digest, the URL (exempt
or not) and the time go in; what the gate does comes out. No database, no
request, no clock: the middleware's sync and async paths both apply it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from trust.state import SessionState, Standing
from trust.verdict import WORK, FixedRoute, Limits, Verdict, verdict

NOW = 1_780_000_000.0
AGENT = "0123abcd0123abcd"
LIMITS = Limits(
    pending_timeout=timedelta(minutes=10),
    touch_interval=timedelta(hours=1),
    session_lifetime=timedelta(hours=24),
)
EXEMPT = FixedRoute(exempt=True, exempt_from_enrollment=True)
GATED = FixedRoute()


def record(status=Standing.OTP, **fields) -> SessionState:
    fields.setdefault("signed_in_at", NOW - 60)
    return SessionState(uid="7", status=status, agent_digest=AGENT, **fields)


def decide(state, *, uid="7", agent=AGENT, route=GATED, now=NOW, limits=LIMITS, fresh=False):
    return verdict(state, uid=uid, agent=agent, route=route, now=now, limits=limits, fresh=fresh)


def test_nobody_signed_in_goes_on():
    assert decide(None, uid=None) is Verdict.GO_ON
    assert decide(record(), uid=None) is Verdict.GO_ON  # a record without a user: ignored


@pytest.mark.parametrize(
    "state",
    [None, record(), record(Standing.OWES_CODE)],
    ids=["no-record", "verified", "pending"],
)
def test_a_session_of_another_user_than_its_record_is_decided_again(state):
    # SECURITY: a record is only ever read for the user it was made for.
    assert decide(state, uid="8") is Verdict.BEGIN


def test_a_record_decided_in_this_request_is_never_decided_again():
    assert decide(None, fresh=True) is Verdict.GO_ON
    assert decide(record(), uid="8", fresh=True) is Verdict.GO_ON


def test_a_verified_session_goes_on_with_no_work():
    assert decide(record()) is Verdict.GO_ON
    assert (
        decide(record(Standing.TRUSTED_BROWSER, trusted_device=3, touched_at=NOW - 60))
        is Verdict.GO_ON
    )


def test_a_refused_sign_in_is_answered_refused():
    state = record(Standing.NO_FACTOR)
    state.refuse(["score"])
    assert decide(state, fresh=True) is Verdict.REFUSED


def test_a_session_past_its_lifetime_ends_whatever_it_is():
    for status in (Standing.OTP, Standing.OWES_CODE, Standing.NO_FACTOR):
        old = record(status, signed_in_at=NOW - 24 * 3600 - 1, pending_since=NOW)
        assert decide(old) is Verdict.END_SESSION
    assert decide(record(signed_in_at=NOW - 24 * 3600 + 1)) is Verdict.GO_ON
    unlimited = Limits(timedelta(minutes=10), timedelta(hours=1), None)
    assert decide(record(signed_in_at=0.0), limits=unlimited) is Verdict.GO_ON


def test_a_changed_user_agent_of_a_verified_session_is_rechecked():
    assert decide(record(), agent="ffffffffffffffff") is Verdict.RECHECK
    assert decide(record(), agent="ffffffffffffffff", fresh=True) is Verdict.GO_ON


def test_a_trusted_session_is_touched_once_an_hour():
    trusted = record(Standing.TRUSTED_BROWSER, trusted_device=3, touched_at=NOW - 3601)
    assert decide(trusted) is Verdict.TOUCH
    assert decide(trusted, fresh=True) is Verdict.GO_ON  # touched in this request


def test_the_first_request_of_a_session_handed_a_rotated_secret_ends_its_grace():
    handed = record(Standing.TRUSTED_BROWSER, trusted_device=3, touched_at=NOW)
    handed.handed_successor(9, until=NOW + 2)
    assert decide(handed) is Verdict.TOUCH
    assert decide(handed, fresh=True) is Verdict.GO_ON  # the sign-in's own request
    assert decide(handed, now=NOW + 2) is Verdict.GO_ON  # closed on its own: no write


@pytest.mark.parametrize("route, expected", [(GATED, Verdict.STEP_UP), (EXEMPT, Verdict.GO_ON)])
def test_a_session_owing_a_code_reaches_only_exempt_urls(route, expected):
    pending = record(Standing.OWES_CODE, pending_since=NOW - 60)
    assert decide(pending, route=route) is expected
    assert decide(pending, route=route, fresh=True) is expected


def test_a_step_up_left_pending_too_long_signs_out_even_on_an_exempt_url():
    stale = record(Standing.OWES_CODE, pending_since=NOW - 601)
    assert decide(stale, route=GATED) is Verdict.SIGN_OUT
    assert decide(stale, route=EXEMPT) is Verdict.SIGN_OUT


def test_a_pending_session_is_not_rechecked_or_touched():
    pending = record(Standing.OWES_CODE, pending_since=NOW, trusted_device=3, touched_at=0.0)
    assert decide(pending, agent="ffffffffffffffff") is Verdict.STEP_UP


@pytest.mark.parametrize(
    "route, expected",
    [
        (GATED, Verdict.ENROLL),
        (FixedRoute(exempt=True), Verdict.ENROLL),  # the code page is no way around it
        (FixedRoute(exempt_from_enrollment=True), Verdict.GO_ON),
    ],
)
def test_a_password_only_session_that_must_enroll_reaches_only_enrollment(route, expected):
    assert decide(record(Standing.NO_FACTOR, must_enroll=True), route=route) is expected
    assert decide(record(Standing.NO_FACTOR), route=GATED) is Verdict.GO_ON


def test_asking_again_fresh_never_answers_work():
    cases = [
        None,
        record(),
        record(Standing.OWES_CODE, pending_since=NOW),
        record(Standing.TRUSTED_BROWSER, trusted_device=3, touched_at=0.0, signed_in_at=0.0),
    ]
    for state in cases:
        for agent in (AGENT, "ffffffffffffffff"):
            assert decide(state, agent=agent, fresh=True) not in WORK
