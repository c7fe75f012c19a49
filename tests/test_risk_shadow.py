"""Shadow mode (TRUST_RISK_SHADOW): the risk model scores and records what
it would have done, and never asks for a code or refuses for it; and the
score's factors on each history row, shown read-only in the admin."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tests.conftest import browser, sign_in
from tests.test_risk_device_network import THIEF, laptop_at_home
from tests.test_risk_sign_in import DE_OTHER_NETWORK, at, history_at_home, signed_in
from tests.test_theft_evident_tokens import copy_of
from trust.flows import risk
from trust.models import SignInAttempt
from trust.rules.risk.decision import ALLOW, STEP_UP, RiskDecision


@pytest.fixture(autouse=True)
def _behind_a_proxy(settings):
    settings.TRUST_PROXY_COUNT = 1
    settings.TRUST_PROXY_NETWORKS = ["127.0.0.1/32"]


def test_shadow_mode_lets_the_sign_in_through_and_records_what_would_have_happened(
    account, clock, settings
):
    laptop = laptop_at_home(account, clock)
    settings.TRUST_RISK_SHADOW = True
    thief = at(copy_of(laptop), THIEF)
    sign_in(thief, account)
    assert signed_in(thief) and thief.get("/").status_code == 200  # not enforced
    [attempt] = SignInAttempt.objects.filter(user=account.user, ip=THIEF)
    assert attempt.outcome == "allowed"  # what happened
    assert attempt.risk_action == "step_up" and attempt.shadow  # what would have
    assert "new_device_network" in attempt.reasons


def test_shadow_mode_mails_no_code_to_a_user_without_2fa(make_user, clock, mailoutbox, settings):
    carol = make_user("carol", totp=False)
    history_at_home(carol, clock)
    settings.TRUST_RISK_SHADOW = True
    elsewhere = at(browser(), DE_OTHER_NETWORK)  # the same operator, another /16
    sign_in(elsewhere, carol)
    assert signed_in(elsewhere) and elsewhere.get("/").status_code == 200
    assert not mailoutbox  # enforced, this owes an e-mailed code (test_risk_sign_in)
    attempt = SignInAttempt.objects.filter(user=carol.user).first()
    assert (attempt.outcome, attempt.risk_action, attempt.shadow) == ("allowed", "step_up", True)
    assert "new_block" in attempt.reasons


def test_shadow_mode_does_not_refuse_a_blocked_address(account, clock, settings):
    laptop = laptop_at_home(account, clock)
    settings.TRUST_RISK_BLOCKED_NETWORKS = [f"{THIEF}/32"]
    settings.TRUST_RISK_SHADOW = True
    sign_in(at(laptop, THIEF), account)
    assert laptop.get("/").status_code == 200
    [attempt] = SignInAttempt.objects.filter(user=account.user, ip=THIEF)
    assert (attempt.outcome, attempt.risk_action) == ("allowed", "deny")
    assert "blocked_address" in attempt.reasons


def test_shadow_mode_still_owes_a_code_after_a_burst_of_wrong_passwords():
    """A burst owes a code with the model switched off too: shadow keeps it."""
    model = RiskDecision(STEP_UP, ("new_asn", "password_failures"), 2.0)
    assert risk._shadowed(model) == RiskDecision(STEP_UP, ("password_failures",), 2.0)
    assert risk._shadowed(RiskDecision(STEP_UP, ("new_block",), 2.0)).action == ALLOW


def test_enforced_sign_ins_record_the_models_action_and_the_scores_factors(account, clock):
    laptop = laptop_at_home(account, clock)
    sign_in(at(copy_of(laptop), THIEF), account)
    attempt = SignInAttempt.objects.filter(user=account.user, ip=THIEF).get()
    assert (attempt.outcome, attempt.risk_action, attempt.shadow) == (
        "stepped_up",
        "step_up",
        False,
    )
    factors = dict(attempt.contributions["factors"])
    assert [name for name, _ in attempt.contributions["factors"]] == ["user", "ip", "user_agent"]
    assert factors["ip"] > 1  # a country the user has, an operator they never had
    product = 1.0
    for value in factors.values():
        product *= value
    assert product == pytest.approx(attempt.score, rel=1e-4)
    levels = {name: (site, mine) for name, site, mine in attempt.contributions["levels"]}
    assert [name for name, *_ in attempt.contributions["levels"]][:4] == [
        "ip",
        "network",
        "asn",
        "country",
    ]
    assert levels["asn"][1] == 0.0 and levels["country"][1] == 1.0  # never on it; all in DE


def test_the_admin_explains_the_score_read_only(account, clock, db):
    laptop = laptop_at_home(account, clock)
    sign_in(at(copy_of(laptop), THIEF), account)
    attempt = SignInAttempt.objects.filter(user=account.user, ip=THIEF).get()
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "x")
    staff = browser()
    staff.force_login(admin)
    page = staff.get(f"/admin/trust/signinattempt/{attempt.pk}/change/").content.decode()
    assert "Why this score" in page
    ip_factor = dict(attempt.contributions["factors"])["ip"]
    assert f"<td>ip</td><td>{ip_factor:.4g}</td>" in page
    assert "<td>country</td>" in page
    assert 'name="contributions"' not in page and 'name="risk_action"' not in page
    # A row someone edited by hand into nonsense: shown as nothing, no 500.
    SignInAttempt.objects.filter(pk=attempt.pk).update(
        contributions={"factors": [["ip"], 7, None, ["<i>x</i>", "<b>"]], "levels": "no"}
    )
    page = staff.get(f"/admin/trust/signinattempt/{attempt.pk}/change/").content.decode()
    assert "<td>&lt;i&gt;x&lt;/i&gt;</td><td>-</td>" in page  # escaped, not a number
    listing = staff.get("/admin/trust/signinattempt/?risk_action__exact=step_up")
    assert listing.status_code == 200 and THIEF in listing.content.decode()
