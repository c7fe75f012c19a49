"""Password guessing is throttled, per account and per client address.

Real sign-ins through the test client: wrong passwords, then the right one,
compared with what a wrong password gets. Time moves by the clock fixture.
Defaults: 5 free failures per account, 20 per address, then 1, 2, 4 ... s,
never more than 15 minutes; 10 failures in 15 minutes are a burst.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from io import StringIO
from types import SimpleNamespace

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.management import call_command
from django.test import RequestFactory

from tests.conftest import PASSWORD, START, browser, sign_in, step_up, trusted_browser
from trust import flows
from trust.flows import password_throttle
from trust.flows.password_throttle import BURST_WINDOW, FREE_FAILURES, MAX_DELAY
from trust.models import EventKind, PasswordThrottle, SecurityEvent, TrustedDevice
from trust.rules import backoff

pytestmark = pytest.mark.django_db(transaction=False)

ATTACKER = "203.0.113.66"
ELSEWHERE = "198.51.100.7"
WRONG = "not the password 0"
FORM_ERROR = "Please enter a correct username and password."


class CountingHasher(MD5PasswordHasher):
    """The tests' MD5 hasher, counting the passwords it compares."""

    compared = 0

    def verify(self, password, encoded):
        type(self).compared += 1
        return super().verify(password, encoded)


@pytest.fixture
def compared(settings):
    """How many passwords were compared against a stored hash so far."""
    settings.PASSWORD_HASHERS = ["tests.test_password_throttle.CountingHasher"]
    CountingHasher.compared = 0
    return lambda: CountingHasher.compared


def attempt(client, username: str, password: str = WRONG, path: str = "/accounts/login/"):
    return client.post(path, {"username": username, "password": password})


def page(response, username: str) -> str:
    """The answer with what differs between any two answers blanked out."""
    html = response.content.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", html)
    return html.replace(username, "USERNAME")


def signed_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.wsgi_request.session


def fail_checked(
    client, username: str, failures: int, clock, *, already=0, path="/accounts/login/"
):
    """``failures`` wrong passwords (after ``already`` ones), each after the
    wait the previous ones earned, so every one is checked and counted."""
    for done in range(already, already + failures):
        wait = backoff.delay(done, free=FREE_FAILURES, max_delay=MAX_DELAY)
        clock.shift(wait + timedelta(seconds=1))
        response = attempt(client, username, path=path)
        assert response.status_code == 200 and FORM_ERROR in response.content.decode()


def test_after_five_wrong_passwords_the_right_one_is_refused_like_a_wrong_one(
    account, clock, compared
):
    attacker = browser(REMOTE_ADDR=ATTACKER)
    first = attempt(attacker, "alice")
    for _ in range(4):
        attempt(attacker, "alice")
    assert compared() == 5

    right = attempt(attacker, "alice", PASSWORD)
    again = attempt(attacker, "alice")

    # The same page, status and form error as a wrong password...
    assert right.status_code == first.status_code == 200
    assert FORM_ERROR in right.content.decode()
    assert page(right, "alice") == page(first, "alice") == page(again, "alice")
    # ...and the password was never compared: nothing was learnt.
    assert compared() == 5
    assert not signed_in(right)
    assert attacker.get("/").status_code == 302
    account.user.refresh_from_db()
    assert account.user.last_login is None

    # Once the wait (1 s) is over, the right password works, from anywhere.
    clock.shift(timedelta(seconds=2))
    assert signed_in(sign_in(browser(REMOTE_ADDR=ELSEWHERE), account))


def test_refused_attempts_do_not_lengthen_the_wait(account, clock):
    # The clock stands still: twenty requests take real time on a busy machine.
    clock.move_to(START, tick=False)
    attacker = browser(REMOTE_ADDR=ATTACKER)
    fail_checked(attacker, "alice", 6, clock)  # the wait is now 2 s
    for _ in range(20):  # hammering while throttled costs nothing more
        attempt(attacker, "alice")
    clock.shift(timedelta(milliseconds=1500))
    assert not signed_in(sign_in(browser(REMOTE_ADDR=ELSEWHERE), account))
    clock.shift(timedelta(seconds=1))
    assert signed_in(sign_in(browser(REMOTE_ADDR=ELSEWHERE), account))


def test_an_unknown_username_is_counted_and_answered_the_same(account, clock):
    attacker = browser(REMOTE_ADDR=ATTACKER)
    wrong_for_alice = attempt(browser(REMOTE_ADDR=ELSEWHERE), "alice")
    for variant in ["newcomer", "NEWCOMER", "Newcomer", "\uff4eewcomer", "newcomer"]:
        unknown = attempt(attacker, variant)
    assert page(unknown, "newcomer") == page(wrong_for_alice, "alice")

    # Counted by its normalized form: its case and width variants are one
    # budget, now spent, so the next variant is refused unchecked (not counted).
    [row] = PasswordThrottle.objects.filter(key=password_throttle.name_key("newcomer"))
    assert row.failures == 5 and row.user_id is None
    refused = attempt(attacker, "NewComer")
    assert page(refused, "NewComer") == page(wrong_for_alice, "alice")
    row.refresh_from_db()
    assert row.failures == 5
    assert PasswordThrottle.objects.get(scope="address", key=f"{ATTACKER}/32").failures == 5


def test_case_and_width_variants_of_a_username_share_one_budget(account, clock):
    attacker = browser(REMOTE_ADDR=ATTACKER)
    for variant in ["ALICE", "Alice", "\uff41\uff4c\uff49\uff43\uff45", "alice", "aLiCe"]:
        attempt(attacker, variant)
    assert not signed_in(sign_in(browser(REMOTE_ADDR=ELSEWHERE), account))


def test_the_wait_doubles_and_is_never_longer_than_the_maximum(account, clock):
    assert timedelta(minutes=15) == MAX_DELAY
    attacker = browser(REMOTE_ADDR=ATTACKER)
    fail_checked(attacker, "alice", 7, clock)  # waits 1 s, then 2 s; now 4 s
    clock.shift(timedelta(seconds=3))
    assert not signed_in(attempt(attacker, "alice", PASSWORD))
    for _ in range(30):  # far past 2**30 s, were it not capped
        clock.shift(timedelta(minutes=15, seconds=1))
        assert attempt(attacker, "alice").status_code == 200
    clock.shift(timedelta(minutes=14))
    assert not signed_in(sign_in(browser(REMOTE_ADDR=ELSEWHERE), account))
    clock.shift(timedelta(minutes=1, seconds=1))
    assert signed_in(sign_in(browser(REMOTE_ADDR=ELSEWHERE), account))


def test_failures_are_forgotten_after_a_day_without_one(account, clock):
    attacker = browser(REMOTE_ADDR=ATTACKER)
    fail_checked(attacker, "alice", 10, clock)
    assert not signed_in(sign_in(browser(REMOTE_ADDR=ELSEWHERE), account))
    clock.shift(backoff.FORGET_AFTER)
    attempt(attacker, "alice")  # counted from one again: within the free allowance
    assert signed_in(sign_in(browser(REMOTE_ADDR=ELSEWHERE), account))


def test_an_address_that_spent_its_budget_holds_no_other_address(make_user, clock):
    alice = make_user("alice")
    attacker = browser(REMOTE_ADDR=ATTACKER)
    for n in range(20):  # one try at each of twenty names: no account is held
        attempt(attacker, f"victim{n}")

    wrong_elsewhere = attempt(browser(REMOTE_ADDR=ELSEWHERE), "alice")
    refused = attempt(attacker, "alice", PASSWORD)
    assert not signed_in(refused)
    assert page(refused, "alice") == page(wrong_elsewhere, "alice")
    assert signed_in(sign_in(browser(REMOTE_ADDR=ELSEWHERE), alice))


def test_an_account_that_spent_its_budget_holds_no_other_account(make_user, clock):
    alice, bob = make_user("alice"), make_user("bob")
    fail_checked(browser(REMOTE_ADDR=ATTACKER), "alice", 5, clock)

    # Alice is held wherever the attempt comes from...
    assert not signed_in(sign_in(browser(REMOTE_ADDR=ELSEWHERE), alice))
    # ...Bob is not, from either address.
    assert signed_in(sign_in(browser(REMOTE_ADDR=ELSEWHERE), bob))
    assert signed_in(sign_in(browser(REMOTE_ADDR=ATTACKER), bob))


def test_an_ipv6_64_is_one_address(make_user, clock):
    alice = make_user("alice")
    for n in range(20):
        attempt(browser(REMOTE_ADDR=f"2001:db8:1:2::{n + 1:x}"), f"victim{n}")
    assert not signed_in(sign_in(browser(REMOTE_ADDR="2001:db8:1:2:ffff::9"), alice))
    assert signed_in(sign_in(browser(REMOTE_ADDR="2001:db8:1:3::1"), alice))


def test_a_trusted_browser_is_not_held_by_its_accounts_throttle(account, clock):
    laptop = trusted_browser(account, clock)
    fail_checked(browser(REMOTE_ADDR=ATTACKER), "alice", 6, clock)
    assert not signed_in(sign_in(browser(REMOTE_ADDR=ELSEWHERE), account))

    # The browser the owner trusted signs in at once, and with no code.
    assert signed_in(sign_in(laptop, account))
    home = laptop.get("/")
    assert home.status_code == 200
    assert home.wsgi_request.trust.method == "trusted_device"


def test_a_trusted_browser_is_still_held_by_its_addresss_throttle(account, clock):
    laptop = trusted_browser(account, clock)  # from 127.0.0.1, as is this:
    neighbour = browser()
    for n in range(20):
        attempt(neighbour, f"victim{n}")
    assert not signed_in(sign_in(laptop, account))


def test_revoked_trust_does_not_exempt_a_browser(account, clock):
    laptop = trusted_browser(account, clock)
    flows.revoke_all(account.user, reason="by_test")
    fail_checked(browser(REMOTE_ADDR=ATTACKER), "alice", 5, clock)
    assert not signed_in(sign_in(laptop, account))


def test_a_burst_makes_a_trusted_browser_owe_a_code_and_keeps_its_trust(account, clock):
    laptop = trusted_browser(account, clock)
    device = TrustedDevice.objects.get(user=account.user)
    fail_checked(browser(REMOTE_ADDR=ATTACKER), "alice", 10, clock)

    assert signed_in(sign_in(laptop, account))
    owed = laptop.get("/", HTTP_ACCEPT="application/json")
    assert owed.status_code == 401
    body = json.loads(owed.content)
    assert body["error"] == "step_up_required"
    assert "password_failures" in body["reasons"]
    device.refresh_from_db()
    assert device.revoked_at is None  # the device is not to blame
    event = SecurityEvent.objects.get(user=account.user, kind=EventKind.PASSWORD_FAILURES)
    assert event.reasons == ["password_failures"]

    # A code pays it; the browser was never untrusted.
    assert step_up(laptop, account, trust=False).status_code == 302
    assert laptop.get("/").status_code == 200
    laptop.post("/accounts/logout/")
    clock.shift(timedelta(seconds=31))
    assert signed_in(sign_in(laptop, account))
    again = laptop.get("/")
    assert again.status_code == 200
    assert again.wsgi_request.trust.method == "trusted_device"
    assert SecurityEvent.objects.filter(kind=EventKind.PASSWORD_FAILURES).count() == 1


def test_the_code_stays_owed_until_one_is_entered(account, clock):
    laptop = trusted_browser(account, clock)
    fail_checked(browser(REMOTE_ADDR=ATTACKER), "alice", 10, clock)
    for _ in range(2):  # signing in and out again does not shake it off
        sign_in(laptop, account)
        assert laptop.get("/", HTTP_ACCEPT="application/json").status_code == 401
        laptop.post("/accounts/logout/")
        clock.shift(timedelta(hours=1))


def test_nine_failures_are_no_burst(account, clock):
    laptop = trusted_browser(account, clock)
    fail_checked(browser(REMOTE_ADDR=ATTACKER), "alice", 9, clock)
    clock.shift(timedelta(seconds=10))  # nine counted: the wait is 16 s (eight: 8 s)
    assert not signed_in(sign_in(browser(REMOTE_ADDR=ELSEWHERE), account))
    assert signed_in(sign_in(laptop, account))
    assert laptop.get("/").status_code == 200  # and no code owed


def test_failures_spread_wider_than_the_window_are_no_burst(account, clock):
    laptop = trusted_browser(account, clock)
    attacker = browser(REMOTE_ADDR=ATTACKER)
    fail_checked(attacker, "alice", 5, clock)
    clock.shift(BURST_WINDOW)
    fail_checked(attacker, "alice", 5, clock, already=5)
    clock.shift(timedelta(seconds=20))  # ten counted: the wait is 32 s (nine: 16 s)
    assert not signed_in(sign_in(browser(REMOTE_ADDR=ELSEWHERE), account))
    assert signed_in(sign_in(laptop, account))
    assert laptop.get("/").status_code == 200  # and no code owed


def test_the_admin_login_is_throttled_too_and_shares_the_budget(make_user, clock):
    staff = make_user("root", totp=False, is_staff=True, is_superuser=True)
    attacker = browser(REMOTE_ADDR=ATTACKER)
    wrong = attempt(attacker, "root", path="/admin/login/")
    for _ in range(2):
        attempt(attacker, "root", path="/admin/login/")
    for _ in range(2):
        attempt(attacker, "root")  # the site's own login page: one budget

    refused = attempt(attacker, "root", PASSWORD, path="/admin/login/")
    assert refused.status_code == wrong.status_code == 200
    assert page(refused, "root") == page(wrong, "root")
    assert (
        browser(REMOTE_ADDR=ELSEWHERE)
        .post("/admin/login/", {"username": "root", "password": staff.password})
        .status_code
        == 200
    )  # still the form: held from everywhere

    clock.shift(timedelta(seconds=2))
    response = browser(REMOTE_ADDR=ELSEWHERE).post(
        "/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"


@pytest.mark.django_db(transaction=True)
def test_a_burst_against_a_user_without_2fa_is_an_event_and_an_alert(make_user, clock, mailoutbox):
    carol = make_user("carol", totp=False)
    fail_checked(browser(REMOTE_ADDR=ATTACKER), "carol", 10, clock)
    clock.shift(MAX_DELAY)

    client = browser(REMOTE_ADDR=ELSEWHERE)
    assert signed_in(sign_in(client, carol))
    # No second factor, but the risk model asks for a code by e-mail.
    response = client.get("/", HTTP_ACCEPT="application/json")
    assert response.status_code == 401 and "password_failures" in response.json()["reasons"]
    event = SecurityEvent.objects.get(user=carol.user, kind=EventKind.PASSWORD_FAILURES)
    assert event.ip == ELSEWHERE and event.reasons == ["password_failures"]
    alerts = [m for m in mailoutbox if "many wrong passwords" in m.subject]
    assert len(alerts) == 1 and alerts[0].to == [carol.user.email]
    [mailed] = [m for m in mailoutbox if m.subject == "Your sign-in code"]
    code = re.findall(r"\b\d{6}\b", mailed.body)[-1]
    assert client.post("/2fa/verify/", {"otp_token": code}).status_code == 302

    client.post("/accounts/logout/")
    sign_in(client, carol)  # the same burst is reported once, and was paid
    assert client.get("/").status_code == 200
    assert SecurityEvent.objects.filter(kind=EventKind.PASSWORD_FAILURES).count() == 1


def test_an_admin_lifts_a_throttle_from_the_command_line(account, clock):
    fail_checked(browser(REMOTE_ADDR=ATTACKER), "alice", 8, clock)
    assert not signed_in(sign_in(browser(REMOTE_ADDR=ELSEWHERE), account))
    out = StringIO()
    call_command("trust_lift_throttle", "--username", "alice", stdout=out)
    assert "Lifted 1 password-throttle records." in out.getvalue()
    assert signed_in(sign_in(browser(REMOTE_ADDR=ELSEWHERE), account))

    for n in range(25):
        attempt(browser(REMOTE_ADDR=ATTACKER), f"victim{n}")
    call_command("trust_lift_throttle", "--address", ATTACKER, stdout=StringIO())
    assert signed_in(sign_in(browser(REMOTE_ADDR=ATTACKER), account))


def test_an_admin_lifts_a_throttle_in_the_admin(admin_client, account, clock):
    fail_checked(browser(REMOTE_ADDR=ATTACKER), "alice", 8, clock)
    listing = admin_client.get("/admin/trust/passwordthrottle/").content.decode()
    assert "alice" in listing and ATTACKER in listing
    row = PasswordThrottle.objects.get(scope="account")
    response = admin_client.post(
        "/admin/trust/passwordthrottle/",
        {"action": "lift_selected", "_selected_action": [row.pk]},
    )
    assert response.status_code == 302
    assert signed_in(sign_in(browser(REMOTE_ADDR=ELSEWHERE), account))


def test_what_was_typed_as_a_username_is_never_stored(account, clock):
    typo = "correct horse battery staple 42 (my password, in the wrong field)"
    attempt(browser(REMOTE_ADDR=ATTACKER), typo)
    stored = json.dumps(list(PasswordThrottle.objects.values()), default=str)
    assert "horse" not in stored and typo not in stored


HOSTILE_FORMS = {
    "huge username": {"username": "a" * 100_000, "password": WRONG},
    "NUL in username": {"username": "ali\x00ce", "password": WRONG},
    "NUL in password": {"username": "alice", "password": "pass\x00word"},
    "control characters": {"username": "\x1b[31malice\r\n", "password": WRONG},
    "no password": {"username": "alice"},
    "no username": {"password": WRONG},
    "nothing": {},
    "two usernames": {"username": ["alice", "bob"], "password": WRONG},
    "empty strings": {"username": "", "password": ""},
}


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
@pytest.mark.parametrize("form", list(HOSTILE_FORMS), ids=str)
def test_hostile_sign_in_forms_never_500(account, clock, path, form):
    client = browser(REMOTE_ADDR=ATTACKER)
    for _ in range(7):  # past the free allowance, so the throttled path runs too
        response = client.post(path, HOSTILE_FORMS[form])
        assert response.status_code == 200, response.status_code


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_raw_bytes_and_json_bodies_never_500(account, path):
    client = browser(REMOTE_ADDR=ATTACKER)
    bodies = [
        (b"username=\xff\xfe\xfd&password=\xc3\x28", "application/x-www-form-urlencoded"),
        (b"\xff" * 1000, "application/x-www-form-urlencoded"),
        (json.dumps({"username": "alice", "password": PASSWORD}), "application/json"),
        (b"--x\r\n\r\n", "multipart/form-data; boundary=x"),
    ]
    for _ in range(6):
        for body, content_type in bodies:
            assert client.post(path, body, content_type=content_type).status_code == 200


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": ["alice"], "password": WRONG},
        {"username": 12345, "password": WRONG},
        {"username": {"$ne": ""}, "password": WRONG},
        {"username": "alice"},
        {"remote_user": "alice"},
        {"email": "alice@example.com", "password": WRONG},
    ],
    ids=str,
)
@pytest.mark.parametrize("with_request", [True, False], ids=["request", "no request"])
def test_any_credentials_given_to_authenticate_never_raise(account, credentials, with_request):
    request = RequestFactory().post("/accounts/login/") if with_request else None
    for _ in range(7):
        assert authenticate(request, **credentials) is None


def test_a_shell_without_a_request_is_held_by_the_account_throttle(account, clock):
    for _ in range(5):
        assert authenticate(None, username="alice", password=WRONG) is None
    assert authenticate(None, username="alice", password=PASSWORD) is None
    clock.shift(timedelta(seconds=2))
    assert authenticate(None, username="alice", password=PASSWORD) == account.user


def test_what_carries_no_request_is_held_as_a_shell_is(account, clock):
    """Django hands ``authenticate()``'s ``request`` on untouched, whatever it
    is (its own tests give ``AuthenticationForm`` an ``object()``). What holds
    no request is throttled by its account, never an error."""
    stand_in = object()
    for _ in range(5):
        assert authenticate(stand_in, username="alice", password=WRONG) is None
    assert authenticate(stand_in, username="alice", password=PASSWORD) is None
    clock.shift(timedelta(seconds=2))
    assert authenticate(stand_in, username="alice", password=PASSWORD) == account.user


def graphql_context(address: str) -> SimpleNamespace:
    """What a GraphQL view hands its resolvers: the request in ``.request``."""
    return SimpleNamespace(request=RequestFactory().post("/graphql", REMOTE_ADDR=address))


def test_a_request_inside_a_context_spends_its_addresss_budget(make_user, clock):
    alice = make_user("alice")
    for n in range(20):  # one try at each of twenty names, through a resolver
        authenticate(graphql_context(ATTACKER), username=f"victim{n}", password=WRONG)
    row = PasswordThrottle.objects.get(scope=password_throttle.ADDRESS, key=f"{ATTACKER}/32")
    assert row.failures == 20
    assert authenticate(graphql_context(ATTACKER), username="alice", password=PASSWORD) is None
    assert authenticate(graphql_context(ELSEWHERE), username="alice", password=PASSWORD) == (
        alice.user
    )


def test_a_request_inside_a_context_meets_the_blocked_networks(account, clock, settings):
    settings.TRUST_RISK_BLOCKED_NETWORKS = [f"{ATTACKER}/32"]
    assert authenticate(graphql_context(ATTACKER), username="alice", password=PASSWORD) is None
    assert authenticate(graphql_context(ELSEWHERE), username="alice", password=PASSWORD) == (
        account.user
    )


def test_django_s_login_form_with_a_stand_in_request_and_django_s_backend(account, settings):
    """Django's ``AuthenticationFormTest.test_login_failed``: only Trustgate's
    ``user_login_failed`` receiver sees the stand-in (Django's backend checks)."""
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.AllowAllUsersModelBackend"]
    form = AuthenticationForm(object(), {"username": "alice", "password": WRONG})
    assert not form.is_valid()
    assert PasswordThrottle.objects.get(scope=password_throttle.ACCOUNT).failures == 1


def test_sign_ins_that_are_not_password_attempts_are_not_counted(account, clock):
    for _ in range(10):
        authenticate(RequestFactory().post("/"), remote_user="alice")
    assert not PasswordThrottle.objects.exists()


def test_django_s_async_authenticate_is_held_by_the_throttle_too(account, clock, settings):
    from asgiref.sync import async_to_sync
    from django.contrib.auth import aauthenticate

    settings.AUTHENTICATION_BACKENDS = ["trust.backends.ModelBackend"]  # the README's

    def tries(username, password):
        request = RequestFactory().post("/accounts/login/")
        return async_to_sync(aauthenticate)(request, username=username, password=password)

    for _ in range(5):
        assert tries("alice", WRONG) is None
    assert tries("ALICE@example.com", PASSWORD) is None
    assert tries("alice", PASSWORD) is None
    clock.shift(timedelta(seconds=2))
    assert tries("alice", PASSWORD) == account.user


def test_two_throttles_listed_take_one_turn_between_them(account, clock, settings):
    """``PasswordThrottleBackend`` before ``trust.backends.ModelBackend``:
    the second asks about the same attempt, which must not queue behind itself."""
    settings.AUTHENTICATION_BACKENDS = [
        "trust.backends.PasswordThrottleBackend",
        "trust.backends.ModelBackend",
    ]
    clock.move_to(START, tick=False)
    fail_checked(browser(REMOTE_ADDR=ATTACKER), "alice", 6, clock)  # past the free five
    clock.shift(timedelta(seconds=3))  # the 2 s wait is over: one attempt may be checked
    response = sign_in(browser(REMOTE_ADDR=ELSEWHERE), account)
    assert signed_in(response), response.status_code
