"""``trust.state.SessionState``: the gate's record, kept in the session and read back."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.conf import settings
from django.test import RequestFactory

from trust.state import SessionState, Standing

pytestmark = pytest.mark.django_db


def request_with(session_key=None):
    request = RequestFactory().get("/")
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    return request


def request_with_record(raw: dict):
    request = request_with()
    request.session["_trustgate"] = raw
    return request


def a_record() -> SessionState:
    state = SessionState(uid="7", status=Standing.NO_FACTOR, agent_digest="0123abcd")
    state.trusted_by(41, "otp_totp.totpdevice/3", ["new_network"])
    return state


def saved_and_read_back(state: SessionState) -> SessionState | None:
    request = request_with()
    state.save(request)
    request.session.save()
    return SessionState.of(request_with(request.session.session_key))


def test_a_record_survives_the_session_store_whole():
    # Through the configured store and its serializer (JSON by default).
    state = a_record()
    assert saved_and_read_back(state) == state


def test_the_saved_record_leaves_out_what_is_the_default():
    # The session is decoded on every request: the record carries only what
    # this session says, and reads back whole.
    request = request_with()
    state = SessionState(uid="7", status=Standing.OTP, otp_device="otp_totp.totpdevice/3")
    state.save(request)
    assert request.session["_trustgate"] == {
        "uid": "7",
        "status": "otp",
        "otp_device": "otp_totp.totpdevice/3",
    }
    assert SessionState.of(request_with_record(request.session["_trustgate"])) == state


def test_a_value_equal_to_no_default_is_kept_zero_and_false_alike():
    request = request_with()
    state = SessionState(uid="7", status=Standing.NO_FACTOR, trusted_device=0, otp_at=0.0)
    state.save(request)
    assert request.session["_trustgate"]["trusted_device"] == 0
    assert request.session["_trustgate"]["otp_at"] == 0.0
    assert SessionState.of(request_with_record(request.session["_trustgate"])) == state


def test_a_full_record_an_earlier_version_wrote_still_reads():
    state = a_record()
    full = {name: getattr(state, name) for name in state.__dataclass_fields__}
    assert SessionState.of(request_with_record(full)) == state


def test_the_saved_record_is_a_copy_not_the_live_list():
    state = a_record()
    request = request_with()
    state.save(request)
    state.reasons.append("changed_after_saving")
    request.session.save()
    assert SessionState.of(request_with(request.session.session_key)).reasons == ["new_network"]


def test_fields_another_version_wrote_are_left_out_not_the_record():
    # What a newer release (or an older one) may have written beside ours.
    raw = {"uid": "7", "status": "otp", "otp_device": "x/1", "a_later_field": [1, 2]}
    state = SessionState._load(raw)
    assert state is not None and state.verified and state.otp_device == "x/1"


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "a string",
        ["uid", "7"],
        {"status": "otp"},  # no user
        {"uid": "7", "status": "root"},  # a status no version writes
    ],
)
def test_a_record_that_cannot_be_read_is_none_so_the_gate_decides_again(raw):
    assert SessionState._load(raw) is None


def test_a_record_read_shares_no_list_with_the_session():
    raw = {"uid": "7", "status": "pending", "reasons": ["new_device"]}
    SessionState._load(raw).reasons.append("changed")
    assert raw["reasons"] == ["new_device"]


def test_the_grace_of_a_handed_successor_is_open_until_its_end_only():
    state = a_record()
    assert not state.grace_open(now=100.0)
    state.handed_successor(9, until=103.0)
    assert state.grace_open(now=100.0) and state.grace_open(now=102.9)
    assert not state.grace_open(now=103.0)  # closed on its own: nothing to write
    state.grace_ended()
    assert not state.grace_open(now=100.0)
    assert (state.grace_record, state.grace_until) == (None, None)


def test_a_handed_successor_survives_the_session_store():
    state = a_record()
    state.handed_successor(9, until=103.5)
    assert saved_and_read_back(state) == state


@pytest.mark.parametrize(
    ("stored", "passwordless", "method", "pending"),
    [
        # The strings earlier versions stored, and what request.trust shows for each.
        ("none", False, "password", False),
        ("pending", False, "password", True),
        ("otp", False, "otp", False),
        ("otp", True, "passkey", False),
        ("trusted_device", False, "trusted_device", False),
    ],
)
def test_a_stored_standing_reads_back_as_the_public_method(stored, passwordless, method, pending):
    raw = {"uid": "7", "status": stored, "passwordless": passwordless}
    state = SessionState._load(raw)
    assert state is not None
    trust = state.view()
    assert trust.method == method and str(trust.method) == method
    assert trust.pending is pending
    assert trust.verified is (method != "password")


@pytest.mark.parametrize("shown_only", ["password", "passkey", "PASSWORD", "step_up"])
def test_a_standing_that_is_never_stored_is_not_read_as_a_record(shown_only):
    assert SessionState._load({"uid": "7", "status": shown_only}) is None
