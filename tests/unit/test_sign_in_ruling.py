"""``trust.rules.sign_in``: the one ruling on a sign-in, plain values in."""

from __future__ import annotations

import pytest

from trust.rules import policy
from trust.rules.risk.decision import (
    ALLOW,
    DENY,
    NEW_BLOCK,
    PASSWORD_FAILURES,
    RISK_SCORE,
    STEP_UP,
    RiskDecision,
)
from trust.rules.sign_in import Outcome, Ruling, decide

RECOGNIZED = policy.Assessment(True)
ROAMING = policy.Assessment(True, (policy.NEW_NETWORK,))
NEW = policy.Assessment(False, (policy.NEW_DEVICE,))
COPIED = policy.Assessment(False, (policy.FINGERPRINT_MISMATCH,))

ALLOWED = RiskDecision(ALLOW)
STEPPED_UP = RiskDecision(STEP_UP, (NEW_BLOCK,))
DENIED = RiskDecision(DENY, (RISK_SCORE,))


# --- users without 2FA --------------------------------------------------------


def test_a_user_without_2fa_goes_on_when_the_model_allows_or_did_not_weigh():
    assert decide(has_factor=False, risk_decision=ALLOWED) == Ruling(Outcome.LET_IN)
    assert decide(has_factor=False, risk_decision=None) == Ruling(Outcome.LET_IN)


def test_a_risky_sign_in_without_2fa_owes_an_emailed_code_with_the_models_reasons():
    ruling = decide(has_factor=False, risk_decision=STEPPED_UP, email_reachable=True)
    assert ruling == Ruling(Outcome.OWES_EMAIL_CODE, (NEW_BLOCK,))


def test_a_risky_sign_in_with_no_address_is_let_in_unchecked_unless_the_site_refuses():
    assert decide(has_factor=False, risk_decision=STEPPED_UP) == Ruling(
        Outcome.UNCHECKED, (NEW_BLOCK,)
    )
    assert decide(has_factor=False, risk_decision=STEPPED_UP, refuse_unreachable=True) == Ruling(
        Outcome.REFUSED, (NEW_BLOCK,)
    )


def test_deny_refuses_a_user_without_2fa_even_with_an_address():
    ruling = decide(has_factor=False, risk_decision=DENIED, email_reachable=True)
    assert ruling == Ruling(Outcome.REFUSED, (RISK_SCORE,))


# --- 2FA users ------------------------------------------------------------------


def test_a_session_django_otp_verified_already_is_verified_whatever_else_is_given():
    ruling = decide(has_factor=True, verified=True, recognition=NEW, burst_unpaid=True)
    assert ruling == Ruling(Outcome.VERIFIED)


def test_no_recognition_at_all_owes_a_code_as_a_new_device():
    assert decide(has_factor=True) == Ruling(Outcome.OWES_CODE, (policy.NEW_DEVICE,))


@pytest.mark.parametrize("found", [None, ALLOWED])
def test_a_recognized_browser_stands_in_for_the_code_with_its_reasons(found):
    assert decide(has_factor=True, recognition=ROAMING, risk_decision=found) == Ruling(
        Outcome.TRUSTED, (policy.NEW_NETWORK,)
    )


def test_the_model_takes_a_recognition_away_and_its_reasons_are_added_once():
    found = RiskDecision(STEP_UP, (policy.NEW_NETWORK, NEW_BLOCK))
    ruling = decide(has_factor=True, recognition=ROAMING, risk_decision=found)
    assert ruling == Ruling(Outcome.OWES_CODE, (policy.NEW_NETWORK, NEW_BLOCK))


@pytest.mark.parametrize("found", [None, ALLOWED, STEPPED_UP])
def test_the_model_never_gives_a_recognition_the_device_refused(found):
    ruling = decide(has_factor=True, recognition=COPIED, risk_decision=found)
    # The device's reasons say why; the model's go to the sign-in history.
    assert ruling == Ruling(Outcome.OWES_CODE, (policy.FINGERPRINT_MISMATCH,))


@pytest.mark.parametrize("recognition", [RECOGNIZED, NEW, COPIED])
def test_deny_refuses_a_2fa_user_whatever_the_device_says(recognition):
    ruling = decide(has_factor=True, recognition=recognition, risk_decision=DENIED)
    assert ruling == Ruling(Outcome.REFUSED, (RISK_SCORE,))


def test_an_unpaid_burst_owes_a_code_on_a_trusted_browser_when_the_model_is_off():
    ruling = decide(has_factor=True, recognition=RECOGNIZED, burst_unpaid=True)
    assert ruling == Ruling(Outcome.OWES_CODE, (PASSWORD_FAILURES,))


def test_the_burst_flag_is_the_models_to_count_when_it_weighed():
    # The model reads the burst itself (its PASSWORD_FAILURES rule): the flag
    # is only read when it did not weigh, so an allow here stands.
    ruling = decide(
        has_factor=True, recognition=RECOGNIZED, risk_decision=ALLOWED, burst_unpaid=True
    )
    assert ruling.outcome == Outcome.TRUSTED


def test_every_outcome_is_reached_by_some_sign_in():
    # The outcomes a ruling can take, each reached by some input above.
    reached = {
        decide(has_factor=False).outcome,
        decide(has_factor=False, risk_decision=STEPPED_UP, email_reachable=True).outcome,
        decide(has_factor=False, risk_decision=STEPPED_UP).outcome,
        decide(has_factor=False, risk_decision=DENIED).outcome,
        decide(has_factor=True, verified=True).outcome,
        decide(has_factor=True, recognition=RECOGNIZED).outcome,
        decide(has_factor=True, recognition=NEW).outcome,
    }
    assert reached == set(Outcome)
