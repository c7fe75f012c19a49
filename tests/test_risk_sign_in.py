"""The risk model on real sign-ins (issue 10): addresses from several
countries through a configured proxy (X-Forwarded-For), time moved with the
clock, e-mailed codes read from the outbox."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from io import StringIO

import django_otp
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import browser, sign_in, step_up
from tests.test_theft_evident_tokens import copy_of
from trust.flows import risk, risk_counts
from trust.models import (
    EventKind,
    RiskCount,
    SecurityEvent,
    SignInAttempt,
    SignInOutcome,
    TrustedDevice,
)
from trust.rules.risk.decision import DENY, STEP_UP, SignalResult

DE = "80.128.0.1"  # Deutsche Telekom, Germany
DE_OTHER_NETWORK = "62.157.140.133"  # the same operator, another /16
DE_SAME_BLOCK = "80.128.1.1"  # the same operator and /16 as DE, another /24
FR = "90.0.0.1"  # Orange, France
JP = "203.178.141.194"  # WIDE Project, Japan
BR = "200.160.2.3"  # NIC.br, Brazil
DE_V6 = "2003::1"  # Deutsche Telekom, IPv6


@pytest.fixture(autouse=True)
def _behind_a_proxy(settings):
    settings.TRUST_PROXY_COUNT = 1
    settings.TRUST_PROXY_NETWORKS = ["127.0.0.1/32"]


def at(client, ip: str):
    """The browser moves: its requests now come from ``ip``."""
    client.defaults["HTTP_X_FORWARDED_FOR"] = ip
    return client


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def json_reasons(client) -> list[str]:
    response = client.get("/", HTTP_ACCEPT="application/json")
    assert response.status_code == 401
    return response.json()["reasons"]


def trusted_in(account, clock, ip: str):
    """A browser that passed a code from ``ip`` and trusted itself, signed out."""
    client = at(browser(), ip)
    sign_in(client, account)
    assert step_up(client, account, trust=True).status_code == 302
    client.post("/accounts/logout/")
    clock.shift(timedelta(seconds=31))
    return client


def sign_out(client, clock):
    client.post("/accounts/logout/")
    clock.shift(timedelta(seconds=31))


def mailed_code(mailoutbox) -> str:
    [mailed, *_] = [m for m in reversed(mailoutbox) if m.subject == "Your sign-in code"]
    codes = re.findall(r"\b(\d{6})\b", mailed.body)
    assert codes, mailed.body
    return codes[-1]


# --- users with 2FA ------------------------------------------------------------


def test_a_trusted_browser_in_a_new_country_owes_a_code_and_keeps_its_trust(account, clock):
    client = trusted_in(account, clock, DE)
    sign_in(client, account)
    assert signed_in(client) and client.get("/").status_code == 200  # trusted, at home
    sign_out(client, clock)

    clock.shift(timedelta(days=2))  # time enough to fly
    sign_in(at(client, JP), account)
    assert set(json_reasons(client)) == {"new_country", "new_asn", "new_network"}
    page = client.get("/2fa/verify/")
    assert "sign-in from a new country" in page.content.decode()
    device = TrustedDevice.objects.get(user=account.user)
    assert device.revoked_at is None  # step-up, not revocation

    assert step_up(client, account, trust=False).status_code == 302
    assert client.get("/").status_code == 200
    attempt = SignInAttempt.objects.filter(user=account.user).first()
    assert attempt.outcome == SignInOutcome.PASSED and attempt.country == "JP"
    assert SecurityEvent.objects.filter(user=account.user, kind=EventKind.NEW_COUNTRY).count() == 1
    sign_out(client, clock)

    sign_in(client, account)  # Japan is known now: the trusted browser alone
    assert client.get("/").status_code == 200
    assert SignInAttempt.objects.filter(user=account.user).first().outcome == "allowed"


def test_a_copied_cookie_in_a_country_visited_with_another_device_owes_a_code(account, clock):
    """The user was in France once, on their phone; their desktop never was.
    The desktop's cookie signing in from France is a copy until a code says not."""
    desktop = trusted_in(account, clock, DE)
    assert TrustedDevice.objects.get(user=account.user).countries == "DE"
    clock.shift(timedelta(days=3))
    phone = trusted_in(account, clock, FR)  # the phone passed a code in France
    phone_device = TrustedDevice.objects.filter(user=account.user).first()
    assert phone_device.countries == "FR"
    clock.shift(timedelta(days=3))
    for _ in range(3):  # back home, on the desktop
        sign_in(at(desktop, DE), account)
        assert desktop.get("/").status_code == 200
        sign_out(desktop, clock)
    clock.shift(timedelta(days=2))

    thief = at(copy_of(desktop), FR)
    sign_in(thief, account)
    reasons = json_reasons(thief)  # (and the device policy's "new network")
    assert "new_device_country" in reasons and "new_country" not in reasons
    page = thief.get("/2fa/verify/").content.decode()
    assert "a country this device was never used in" in page
    desktop_device = TrustedDevice.objects.get(user=account.user, countries="DE")
    assert desktop_device.revoked_at is None  # step-up, not revocation

    sign_in(at(phone, FR), account)  # the phone has been to France: let in
    assert phone.get("/").status_code == 200


def test_a_known_operator_in_a_new_address_block_owes_an_e_mailed_code(
    make_user, clock, mailoutbox
):
    """A targeted attacker in the victim's country on the victim's own operator
    is still in another address block than the victim's (users without 2FA)."""
    carol = make_user("carol", totp=False)
    history_at_home(carol, clock)
    neighbour = at(browser(), DE_SAME_BLOCK)  # another /24 of the same /16: let in
    sign_in(neighbour, carol)
    assert neighbour.get("/").status_code == 200 and not mailoutbox
    sign_out(neighbour, clock)

    elsewhere = at(browser(), DE_OTHER_NETWORK)  # Deutsche Telekom, another /16
    sign_in(elsewhere, carol)
    reasons = json_reasons(elsewhere)
    assert "new_block" in reasons and "new_asn" not in reasons
    assert mailoutbox[-1].to == [carol.user.email]
    assert elsewhere.post("/2fa/verify/", {"otp_token": mailed_code(mailoutbox)}).status_code == 302
    assert elsewhere.get("/").status_code == 200


def test_impossible_travel_steps_up_a_trusted_browser(account, clock):
    client = trusted_in(account, clock, JP)
    sign_in(client, account)  # Japan, then Germany a week later: both known
    sign_out(client, clock)
    clock.shift(timedelta(days=7))
    sign_in(at(client, DE), account)
    assert step_up(client, account, trust=False).status_code == 302
    sign_out(client, clock)

    clock.shift(timedelta(hours=1))  # Germany to Japan in an hour
    sign_in(at(client, JP), account)
    assert "impossible_travel" in json_reasons(client)


def test_a_blocked_network_is_answered_as_a_wrong_password(account, clock, settings):
    client = trusted_in(account, clock, JP)
    wrong = sign_in(browser(HTTP_X_FORWARDED_FOR=BR), type(account)(account.user, "wrong", None))
    settings.TRUST_RISK_BLOCKED_NETWORKS = ["203.178.141.0/24"]
    refused = sign_in(client, account)
    assert not signed_in(client)
    assert refused.status_code == wrong.status_code == 200
    assert "Please enter a correct" in refused.content.decode()
    row = SignInAttempt.objects.filter(user=account.user).first()
    assert (row.outcome, row.reasons) == (SignInOutcome.DENIED, ["blocked_address"])


def deny_everything(context):
    return SignalResult(("site_says_no",), DENY)


def step_up_from_brazil(context):
    if context.features.country == "BR":
        return SignalResult(("brazil_check",), STEP_UP)
    return SignalResult()


def test_a_sites_signal_steps_up_or_refuses(account, clock, settings):
    settings.TRUST_RISK_SIGNALS = ["tests.test_risk_sign_in.step_up_from_brazil"]
    client = trusted_in(account, clock, BR)
    sign_in(client, account)
    assert json_reasons(client) == ["brazil_check"]
    assert "brazil_check" in client.get("/2fa/verify/").content.decode()
    sign_out(client, clock)

    settings.TRUST_RISK_SIGNALS = ["tests.test_risk_sign_in.deny_everything"]
    response = sign_in(client, account)
    assert not signed_in(client)
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?refused=1"
    assert "Please enter a correct" in client.get(response["Location"]).content.decode()
    api = sign_in(at(browser(), BR), account, HTTP_ACCEPT="application/json")
    assert api.status_code == 401 and api.json() == {"error": "sign_in_refused"}
    row = SignInAttempt.objects.filter(user=account.user).first()
    assert row.outcome == SignInOutcome.DENIED and row.reasons == ["site_says_no"]
    assert SecurityEvent.objects.filter(kind=EventKind.SIGN_IN_REFUSED).count() == 2


# --- users without 2FA -----------------------------------------------------------


def history_at_home(carol, clock, times: int = 3):
    client = at(browser(), DE)
    for _ in range(times):
        sign_in(client, carol)
        assert signed_in(client)
        sign_out(client, clock)
    return client


@pytest.mark.throttling
def test_a_user_without_2fa_gets_an_e_mailed_code_throttled_and_used_once(
    make_user, clock, mailoutbox, settings
):
    carol = make_user("carol", totp=False)
    history_at_home(carol, clock)
    assert not mailoutbox

    client = at(browser(), JP)
    sign_in(client, carol)
    assert "new_asn" in json_reasons(client)
    assert mailoutbox[-1].to == [carol.user.email]
    assert mailoutbox[-1].subject == "Your sign-in code"
    code = mailed_code(mailoutbox)
    page = client.get("/2fa/verify/").content.decode()
    assert "sent a 6-digit code to your e-mail" in page and "Trust this device" not in page

    wrong = "000000" if code != "000000" else "111111"
    assert client.post("/2fa/verify/", {"otp_token": wrong}).status_code == 200
    throttled = client.post("/2fa/verify/", {"otp_token": code})  # right, but too soon
    assert "Wait" in throttled.content.decode() and json_reasons(client)
    clock.shift(timedelta(seconds=3))
    assert client.post("/2fa/verify/", {"otp_token": code}).status_code == 302
    assert client.get("/").status_code == 200
    assert not django_otp.user_has_device(carol.user)  # an e-mailed code is no 2FA
    assert SignInAttempt.objects.filter(user=carol.user).first().outcome == "passed"
    sign_out(client, clock)

    clock.shift(timedelta(minutes=2))
    other = at(browser(), BR)
    sign_in(other, carol)
    replay = other.post("/2fa/verify/", {"otp_token": code})  # the used code again
    assert replay.status_code == 200 and json_reasons(other)


def test_no_address_on_file_lets_in_and_records(make_user, clock, mailoutbox, settings):
    dave = make_user("dave", totp=False)
    dave.user.email = ""
    dave.user.save()
    history_at_home(dave, clock)
    client = at(browser(), JP)
    sign_in(client, dave)
    assert client.get("/").status_code == 200
    event = SecurityEvent.objects.get(user=dave.user, kind=EventKind.RISKY_SIGN_IN_UNCHECKED)
    assert "new_asn" in event.reasons
    sign_out(client, clock)

    settings.TRUST_RISK_NO_EMAIL = "deny"
    sign_in(at(browser(), BR), dave)
    assert SignInAttempt.objects.filter(user=dave.user).first().outcome == "denied"


# --- history, counts, prune ------------------------------------------------------


def test_every_outcome_is_in_the_history_and_on_the_devices_page(account, clock):
    wrong = type(account)(account.user, "wrong", None)
    sign_in(at(browser(), DE), wrong)
    client = at(browser(), DE)
    sign_in(client, account)  # a new browser: a code
    step_up(client, account, trust=False)
    outcomes = list(
        SignInAttempt.objects.filter(user=account.user).values_list("outcome", flat=True)
    )
    assert outcomes == ["passed", "failed_password"]
    page = client.get("/devices/").content.decode()
    assert "Recent sign-ins" in page and "Code passed" in page and "Wrong password" in page


def test_counts_grow_only_with_successful_sign_ins(account, clock):
    def total():
        row = RiskCount.objects.filter(user__isnull=True, feature=risk_counts.TOTAL).first()
        return row.count if row else 0

    sign_in(at(browser(), DE), type(account)(account.user, "wrong", None))
    client = at(browser(), DE)
    sign_in(client, account)
    assert total() == 0  # a wrong password, and a code still owed: nothing counted
    step_up(client, account, trust=False)
    assert total() == 1
    stored = set(RiskCount.objects.filter(user=account.user).values_list("value", flat=True))
    assert DE not in stored and "80.128.0.0/24" not in stored  # addresses are digests


def test_trust_prune_drops_history_older_than_180_days(account, clock):
    sign_in(at(browser(), DE), type(account)(account.user, "wrong", None))
    clock.shift(timedelta(days=181))
    sign_in(at(browser(), DE), type(account)(account.user, "wrong", None))
    call_command("trust_prune", stdout=StringIO())
    assert SignInAttempt.objects.filter(user=account.user).count() == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_successes_are_all_counted(account, postgres_only):
    from django.db import connections

    features = risk.features_of(
        risk.request_fingerprint(_request(DE)), "agent", risk.timezone.now()
    )
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def one():
        try:
            barrier.wait(timeout=10)
            risk_counts.count_success(account.user, features)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    rows = {(r.user_id, r.feature, r.value): r.count for r in RiskCount.objects.all()}
    assert (
        rows[(None, risk_counts.TOTAL, "")] == 6 == rows[(account.user.pk, risk_counts.TOTAL, "")]
    )
    assert rows[(None, risk_counts.USERS, "")] == 1
    assert rows[(None, risk_counts.DISTINCT, "country")] == 1
    assert connection.vendor == "postgresql"


def _request(ip: str):
    from django.test import RequestFactory

    return RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=ip)


# --- hostile input ------------------------------------------------------------


@pytest.mark.parametrize(
    "forwarded",
    [
        "not-an-ip",
        "999.1.1.1",
        "10.0.0.1",
        "fe80::1%eth0",
        "::ffff:8.8.8.8",
        DE_V6,
        "1" * 5000,
        "8.8.8.8, 9.9.9.9",
        "\x00",
        "2001:db8::1",
    ],
)
def test_hostile_or_unknown_addresses_owe_a_code_and_never_fail_a_sign_in(
    make_user, clock, forwarded
):
    """An address that is no address, private, or far from home: the password
    is taken and a code is owed (never an error, never a refusal)."""
    carol = make_user("carol", totp=False)
    history_at_home(carol, clock, times=1)
    client = browser(HTTP_X_FORWARDED_FOR=forwarded)
    response = sign_in(client, carol)
    assert response.status_code == 302
    assert response["Location"] == "/2fa/verify/?next=/"
    page = client.get("/")
    assert page.status_code == 302 and page["Location"] == "/2fa/verify/?next=/"


def test_a_huge_history_adds_no_query_and_is_read_only_for_the_last_success(account, clock):
    """5,000 past attempts cost a trusted sign-in the same statements as none,
    and the attempts are read only for the user's last success (one row, by
    the user, ``LIMIT 1``: the partial index of successes on PostgreSQL,
    tests/test_risk_read.py): the decision reads the per-user counts
    (RiskCount), so no history size can make it read the history. (A count
    of queries alone could not see a scan; tests/test_indexes.py and
    tests/test_risk_read.py read the plans on PostgreSQL.)"""
    client = trusted_in(account, clock, DE)
    sign_in(client, account)  # the first sign-in after trusting: one-off records
    sign_out(client, clock)
    with CaptureQueriesContext(connection) as capture:
        assert sign_in(client, account)["Location"] == "/"
    # Read now: the next request's request_started empties the query log.
    small = [query["sql"] for query in capture.captured_queries]
    sign_out(client, clock)
    SignInAttempt.objects.bulk_create(
        [SignInAttempt(user=account.user, outcome="failed_password") for _ in range(5000)]
    )
    with CaptureQueriesContext(connection) as capture:
        assert sign_in(client, account)["Location"] == "/"
    huge = [query["sql"] for query in capture.captured_queries]
    assert client.get("/").status_code == 200
    assert small and len(huge) == len(small), huge
    attempts = f'"{SignInAttempt._meta.db_table}"'
    reads = [sql for sql in huge if sql.startswith("SELECT") and attempts in sql]
    for sql in reads:
        history = sql[sql.index(f"FROM {attempts}") :]
        assert '"user_id" =' in history and "LIMIT 1" in history, sql


def test_a_new_address_block_owes_a_code_by_the_rule_alone(make_user, clock, mailoutbox, settings):
    carol = make_user("carol", totp=False)
    history_at_home(carol, clock)
    settings.TRUST_RISK_STEP_UP = float("inf")  # the score aside: only the rule is tried
    again = at(browser(), "62.156.0.1")  # Telekom's next /16, new to carol
    sign_in(again, carol)
    assert "new_block" in json_reasons(again) and mailoutbox
