"""Throttling is per user: across sessions, browsers and IPs.

django-otp's back-off as configured (``OTP_TOTP_THROTTLE_FACTOR``, 1 s by
default: 1, 2, 4, 8 ... s after each failure), time moved by the clock.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils.html import escape

from otp_flow.forms import INVALID_CODE
from tests.agents import FIREFOX_WINDOWS, SAFARI_IPHONE
from tests.conftest import browser, sign_in

pytestmark = [pytest.mark.django_db(transaction=False), pytest.mark.throttling]

WAIT = re.compile(r"Too many attempts\. Wait (\d+) seconds? before trying again\.")


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def post_code(client, code):
    return client.post("/2fa/verify/", {"otp_token": code})


def error_block(response) -> str:
    """The page's error text, with the numbers of seconds blanked out."""
    match = re.search(r'<div class="errors" role="alert">(.*?)</div>', response.content.decode())
    assert match, "no error on the page"
    return re.sub(r"\d+", "N", match.group(1))


def fail_until_locked(client, account, failures: int) -> None:
    for _ in range(failures):
        response = post_code(client, wrong(account.code()))
        assert response.status_code == 200


def test_throttle_follows_the_user_across_browsers_and_ips(account, clock, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 1
    first = browser(REMOTE_ADDR="198.51.100.7")
    sign_in(first, account)
    # Failures, each after the previous back-off has passed.
    for delay in (0, 2, 3, 5):
        clock.shift(timedelta(seconds=delay))
        post_code(first, wrong(account.code()))
    account.device.refresh_from_db()
    assert account.device.throttling_failure_count == 4  # locked for 8 s now

    elsewhere = browser(SAFARI_IPHONE, REMOTE_ADDR="203.0.113.9")
    sign_in(elsewhere, account)
    right = post_code(elsewhere, account.code())
    wrong_answer = post_code(elsewhere, wrong(account.code()))

    # Even the right code fails while throttled, and says how long to wait...
    assert right.status_code == 200
    seconds = int(WAIT.search(right.content.decode()).group(1))
    assert 1 <= seconds <= 8
    # ...exactly as a wrong one does: nothing tells them apart.
    assert error_block(right) == error_block(wrong_answer)
    assert escape(str(INVALID_CODE)) not in right.content.decode()
    assert elsewhere.get("/").status_code == 302
    account.device.refresh_from_db()
    assert account.device.last_t == -1  # never compared
    assert account.device.throttling_failure_count == 4  # locked attempts cost nothing more

    # Once the wait is over, the right code works, from anywhere.
    clock.shift(timedelta(seconds=seconds + 1))
    response = post_code(elsewhere, account.code())
    assert response.status_code == 302
    account.device.refresh_from_db()
    assert account.device.throttling_failure_count == 0


def test_another_users_success_from_the_same_ip_does_not_reset_it(account, make_user, clock):
    bob = make_user("bob")
    same_ip = {"REMOTE_ADDR": "192.0.2.10"}
    alice_browser = browser(**same_ip)
    sign_in(alice_browser, account)
    fail_until_locked(alice_browser, account, 1)
    clock.shift(timedelta(seconds=2))
    fail_until_locked(alice_browser, account, 1)  # two failures: locked for 2 s

    bob_browser = browser(FIREFOX_WINDOWS, **same_ip)
    sign_in(bob_browser, bob)
    assert post_code(bob_browser, bob.code()).status_code == 302

    account.device.refresh_from_db()
    assert account.device.throttling_failure_count == 2
    response = post_code(alice_browser, account.code())
    assert WAIT.search(response.content.decode())
    assert alice_browser.get("/").status_code == 302


def test_malformed_codes_feed_the_same_back_off(account, clock):
    client = browser()
    sign_in(client, account)
    assert post_code(client, "not a code").status_code == 200

    response = post_code(client, account.code())  # at once: within the 1 s back-off
    assert WAIT.search(response.content.decode())
    account.device.refresh_from_db()
    assert account.device.last_t == -1


def test_a_new_sign_in_does_not_reset_the_count(account, clock):
    client = browser()
    sign_in(client, account)
    fail_until_locked(client, account, 1)
    client.post("/accounts/logout/")
    sign_in(client, account)  # a new challenge

    response = post_code(client, account.code())
    assert WAIT.search(response.content.decode())
    account.device.refresh_from_db()
    assert account.device.throttling_failure_count == 1


@pytest.mark.throttling
def test_a_refused_code_is_never_written_back_into_the_page(account, settings):
    from otp_flow.models import BackupCodeDevice

    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    code = BackupCodeDevice.objects.create(user=account.user, name="Backup codes").replace_codes()[
        0
    ]
    client = browser()
    sign_in(client, account)
    client.post("/2fa/verify/", {"otp_token": "000000"})
    response = client.post("/2fa/verify/", {"otp_token": code})  # right, but throttled
    html = response.content.decode()
    assert "Too many attempts" in html
    assert code not in html


@pytest.mark.throttling
def test_attempts_the_throttle_turned_away_do_not_flood_the_log(account, settings):
    from trust.models import SecurityEvent

    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    client = browser()
    sign_in(client, account)
    for _ in range(20):
        client.post("/2fa/verify/", {"otp_token": "000000"})
    assert SecurityEvent.objects.filter(kind="step_up_failed").count() == 1
