"""A double click is not a theft: one browser sending its sign-in twice at once
keeps its trust; a superseded secret from anywhere else is still a copy.

A trusted sign-in replaces the device's secret S0 with S1. The same browser
(same kind of browser, same network) presenting S0 again within a few
seconds is the other click of a double submit: it is let in with S1 as well,
so whichever answer the browser keeps, its cookie is live. S0 from another
kind of browser, another network, after the window, or once S1 was itself
presented, means two browsers hold the cookie: the device is revoked.

The races run real threads against a live server (``tests.live``); the
hostile orders run one after the other through the test client.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.agents import CHROME_WINDOWS, FIREFOX_WINDOWS, SAFARI_IPHONE
from tests.conftest import START, browser, sign_in
from tests.live import Browser, race, serve
from tests.test_theft_evident_tokens import copy_of, trusted_browser
from trust.flows.password_throttle import BURST, FREE_FAILURES
from trust.flows.rotation import GRACE
from trust.models import PasswordThrottle, SecurityEvent, SupersededToken, TrustedDevice
from trust.rules import tokens

COOKIE = "trustgate_token"
SESSION = "sessionid"


@pytest.fixture
def server(transactional_db):
    yield from serve()


@pytest.fixture
def frozen(time_machine):
    """Time stands still while the threads race (the window is then never a
    matter of how fast the machine is); tests move it explicitly."""
    time_machine.move_to(START, tick=False)
    return time_machine


def trusted_laptop(server, account) -> tuple[Browser, str]:
    """A browser that passed a code and trusted itself, then restarted: it
    holds its device secret S0 and no session."""
    first = Browser(server.url)
    first.sign_in(account)
    token = first.csrf("/2fa/verify/")
    answer = first.send(
        "/2fa/verify/",
        {"csrfmiddlewaretoken": token, "otp_token": account.code(), "trust_device": "on"},
    )
    assert answer.status == 302
    old = first.cookie(COOKIE).value
    return first.holding(COOKIE, old), old


def no_theft_seen(account) -> None:
    device = TrustedDevice.objects.get(user=account.user)
    assert device.revoked_at is None, device.revoked_reason
    assert not SecurityEvent.objects.filter(kind="copied_cookie_suspected").exists()


def theft_seen(account) -> None:
    device = TrustedDevice.objects.get(user=account.user)
    assert device.revoked_reason == "stale_token"
    event = SecurityEvent.objects.get(user=account.user, kind="copied_cookie_suspected")
    assert event.reasons == ["stale_token"]


# --- the same browser, clicking more than once ---------------------------------


@pytest.mark.parametrize("clicks", [2, 4])
def test_sign_in_posted_several_times_at_once_keeps_the_trust(server, account, frozen, clicks):
    laptop, old = trusted_laptop(server, account)
    form = laptop.sign_in_form(account)  # one page, its button clicked `clicks` times

    tabs = [laptop.clone() for _ in range(clicks)]  # every click leaves with the same cookies
    answers = race([lambda tab=tab: tab.send("/accounts/login/", form) for tab in tabs])

    assert [answer.status for answer in answers] == [302] * clicks, answers
    # Every click got in: none owes a code, none was taken for a thief.
    assert [answer.text for answer in answers] == ["/"] * clicks, answers
    no_theft_seen(account)
    # Every answer carries one and the same new secret: whichever the browser
    # keeps (the last to arrive, or the only one if it aborted the others) is live.
    handed = {answer.set_cookies.get(COOKIE) for answer in answers}
    assert len(handed) == 1 and None not in handed and old not in handed, handed
    (new,) = handed
    sessions = [answer.set_cookies[SESSION] for answer in answers]
    assert len(set(sessions)) == clicks  # each sign-in rotated its own session key

    # Every answer lost: the browser still holds S0 and no session, and sends
    # the sign-in again. Within the window, and before any answer's session
    # made a request, that is one more click: no code asked.
    lost = laptop.holding(COOKIE, old)
    assert lost.sign_in(account).text == "/"
    for key in sessions:  # each answer's session goes on (its first request ends the grace)
        assert tabs[0].holding(SESSION, key).verified()
    assert lost.verified()
    # The browser's next sign-in with the secret it kept asks for no code.
    again = laptop.holding(COOKIE, new)
    assert again.sign_in(account).text == "/"
    assert again.verified()
    no_theft_seen(account)
    for key in sessions:  # and no sign-in ended another
        assert tabs[0].holding(SESSION, key).verified()


def test_both_clicks_read_the_old_secret_before_either_rotated_it(
    server, account, frozen, postgres_only
):
    """The compare-and-swap loser: both requests found S0 current; the second
    UPDATE waits for the first's commit, then matches no row."""
    laptop, old = trusted_laptop(server, account)
    form = laptop.sign_in_form(account)

    pool = ThreadPoolExecutor(max_workers=2)
    try:
        with transaction.atomic():
            # The test holds the device row: both sign-ins read S0, then queue
            # on the lock at their compare-and-swap.
            TrustedDevice.objects.select_for_update().get(user=account.user)
            pending = [pool.submit(laptop.send, "/accounts/login/", form) for _ in range(2)]
            _until_waiting_on_locks(2)
        answers = [future.result(timeout=60) for future in pending]
    finally:
        pool.shutdown()

    assert [(answer.status, answer.text) for answer in answers] == [(302, "/")] * 2, answers
    no_theft_seen(account)
    handed = {answer.set_cookies.get(COOKIE) for answer in answers}
    assert len(handed) == 1 and None not in handed and old not in handed, handed
    for answer in answers:
        assert laptop.holding(SESSION, answer.set_cookies[SESSION]).verified()
    again = laptop.holding(COOKIE, handed.pop())
    assert again.sign_in(account).text == "/"


def test_a_copy_racing_its_owner_from_another_network_revokes_the_device(
    server, account, frozen, settings
):
    settings.TRUST_PROXY_COUNT = 1
    settings.TRUST_PROXY_NETWORKS = ["127.0.0.0/8"]
    laptop, old = trusted_laptop(server, account)
    thief = Browser(server.url, headers={"X-Forwarded-For": "203.0.113.9"})
    owner = laptop.holding(COOKIE, old)
    owner.headers = {"X-Forwarded-For": "198.51.100.7"}
    thief.jar.set_cookie(owner.cookie(COOKIE))
    forms = [owner.sign_in_form(account), thief.sign_in_form(account)]

    answers = race(
        [
            lambda: owner.send("/accounts/login/", forms[0]),
            lambda: thief.send("/accounts/login/", forms[1]),
        ]
    )

    # A sign-in whose session the other one's revoke ended in flight is
    # answered 400 by Django (SessionInterrupted); never a 500.
    assert all(answer.status in (302, 400) for answer in answers), answers
    theft_seen(account)
    # Whichever got in first, its session ended with the device.
    for each in (owner, thief):
        assert each.request("/", accept="application/json")[0] != 200


def test_a_thief_replaying_after_the_owners_answer_arrived_revokes_the_device(
    server, account, frozen
):
    """Over HTTP: the owner's sign-in rotates S0, its browser follows the answer
    with the session that came with S1; a copy of S0 from the same kind of
    browser on the same network, a second later, is refused."""
    laptop, old = trusted_laptop(server, account)
    thief = laptop.holding(COOKIE, old)  # copied before the owner's sign-in
    owner = laptop.holding(COOKIE, old)
    answer = owner.sign_in(account)
    assert answer.text == "/" and answer.set_cookies[COOKIE] != old
    frozen.shift(0.5)
    assert owner.verified()  # the first response's session makes its request
    frozen.shift(0.5)

    replay = thief.sign_in(account)

    assert replay.text.startswith("/2fa/verify/")
    theft_seen(account)
    assert thief.request("/", accept="application/json")[0] == 401  # owes a code
    # The device's sessions end with it: the owner's is signed out.
    assert owner.request("/", accept="application/json")[0] == 302


# --- a superseded secret from anywhere else: still a copied cookie ---------------


def rotated(account, clock):
    """The owner's trusted sign-in replaced S0 by S1; ``thief`` holds a copy of S0."""
    owner = trusted_browser(account, clock)
    old = owner.cookies[COOKIE].value
    response = sign_in(owner, account)
    assert response.status_code == 302 and response["Location"] == "/"
    assert owner.cookies[COOKIE].value != old
    return owner, old


def test_the_same_browser_presenting_the_old_secret_within_the_window_gets_the_new_one(
    account, clock
):
    owner, old = rotated(account, clock)
    new = owner.cookies[COOKIE].value
    again = browser()
    again.cookies[COOKIE] = old  # the second click, or an answer the browser lost

    response = sign_in(again, account)

    assert response.status_code == 302 and response["Location"] == "/"
    assert response.cookies[COOKIE].value == new  # no second rotation
    assert again.get("/").status_code == 200 and owner.get("/").status_code == 200
    no_theft_seen(account)
    assert TrustedDevice.objects.get(user=account.user).token_hash == tokens.hash_secret(new)


# --- the grace ends once the browser has its answer ----------------------------


def at(clock, record, seconds: float) -> None:
    """Time stands at ``seconds`` after the rotation ``record`` keeps."""
    clock.move_to(record.superseded_at + timedelta(seconds=seconds), tick=False)


def test_old_secret_after_the_owners_next_request_is_a_copy(account, clock):
    """The owner's browser got its answer and made its next request with the
    session that came with the new secret: no click of it is in flight any
    more, so the old secret from the same kind of browser on the same network,
    well within the seconds of the window, is a thief's."""
    owner, old = rotated(account, clock)
    (record,) = SupersededToken.objects.filter(successor__gt="")
    at(clock, record, 0.5)
    assert owner.get("/").status_code == 200  # the redirect followed: the grace ends
    thief = copy_of(owner)
    thief.cookies[COOKIE] = old
    at(clock, record, 1)

    response = sign_in(thief, account)

    assert response.status_code == 302 and response["Location"].startswith("/2fa/verify/")
    assert thief.get("/", HTTP_ACCEPT="application/json").json()["reasons"] == ["stale_token"]
    theft_seen(account)
    assert COOKIE not in response.cookies or response.cookies[COOKIE].value == ""
    assert owner.get("/").status_code == 302  # the device's sessions end with it


def test_a_second_clicks_session_ends_the_grace_too(account, clock):
    """Each answer of a double click carries the new secret: whichever the
    browser kept, its next request ends the grace."""
    owner, old = rotated(account, clock)
    (record,) = SupersededToken.objects.filter(successor__gt="")
    second = copy_of(owner)
    second.cookies[COOKIE] = old
    at(clock, record, 0.5)
    assert sign_in(second, account)["Location"] == "/"  # the other click: let in
    assert second.get("/").status_code == 200  # the answer it kept: the grace ends
    thief = copy_of(owner)
    thief.cookies[COOKIE] = old
    at(clock, record, 1)

    assert sign_in(thief, account)["Location"].startswith("/2fa/verify/")
    theft_seen(account)


def test_the_grace_lasts_three_seconds_at_most(account, clock):
    owner, old = rotated(account, clock)  # the owner's answer lost: no request since
    (record,) = SupersededToken.objects.filter(successor__gt="")
    late = copy_of(owner)
    late.cookies[COOKIE] = old
    at(clock, record, 3.5)

    response = sign_in(late, account)

    assert response["Location"].startswith("/2fa/verify/")
    theft_seen(account)


def test_ending_the_grace_costs_one_write_on_the_first_request_only(
    account, clock, django_assert_num_queries
):
    owner, _old = rotated(account, clock)
    (record,) = SupersededToken.objects.filter(successor__gt="")
    at(clock, record, 0.5)
    owner.get("/")  # the first request: the record's successor is wiped
    record.refresh_from_db()
    assert record.successor == "" and record.rotated_by == ""
    at(clock, record, 1)
    with CaptureQueriesContext(connection) as later:
        assert owner.get("/").status_code == 200
    assert not [q for q in later.captured_queries if "trust_" in q["sql"]], later.captured_queries


def test_a_session_answered_after_the_window_writes_nothing(account, clock):
    owner, _old = rotated(account, clock)
    (record,) = SupersededToken.objects.filter(successor__gt="")
    at(clock, record, 4)  # the grace closed on its own
    with CaptureQueriesContext(connection) as first:
        assert owner.get("/").status_code == 200
    assert not [q for q in first.captured_queries if "trust_" in q["sql"]]


def test_the_database_holds_the_new_secret_only_wrapped_and_only_for_the_window(account, clock):
    owner, old = rotated(account, clock)
    new = owner.cookies[COOKIE].value
    (record,) = SupersededToken.objects.all()
    assert record.token_hash == tokens.hash_secret(old)
    assert record.successor and new not in record.successor
    assert tokens.hash_secret(new) not in record.successor
    assert tokens.unwrap_successor(old, record.successor) == new  # S0 unwraps it, nothing else

    clock.shift(GRACE + timedelta(seconds=1))
    call_command("trust_prune", stdout=StringIO())
    record.refresh_from_db()
    assert record.successor == "" and record.rotated_by == ""
    # The hash stays while the device lives: the old secret is still noticed.
    assert record.token_hash == tokens.hash_secret(old)


def test_the_next_rotation_wipes_the_previous_successor(account, clock):
    owner, old = rotated(account, clock)
    owner.post("/accounts/logout/")
    sign_in(owner, account)  # S1 -> S2
    records = {r.token_hash: r for r in SupersededToken.objects.all()}
    assert records[tokens.hash_secret(old)].successor == ""
    assert len(records) == 2


@pytest.mark.parametrize(
    "copy",
    [
        pytest.param(lambda: browser(FIREFOX_WINDOWS), id="another-browser"),
        pytest.param(lambda: browser(SAFARI_IPHONE), id="another-device"),
        pytest.param(
            lambda: browser(CHROME_WINDOWS, REMOTE_ADDR="203.0.113.9"), id="another-network"
        ),
    ],
)
def test_old_secret_from_another_fingerprint_within_the_window_is_a_copy(account, clock, copy):
    owner, old = rotated(account, clock)
    thief = copy()
    thief.cookies[COOKIE] = old

    response = sign_in(thief, account)

    assert response.status_code == 302 and response["Location"].startswith("/2fa/verify/")
    theft_seen(account)
    assert owner.get("/").status_code == 302  # the device's sessions end
    assert thief.cookies[COOKIE].value == ""  # and the stale secret leaves the copy


def test_old_secret_after_the_window_is_a_copy(account, clock):
    owner, old = rotated(account, clock)
    clock.shift(GRACE + timedelta(seconds=1))
    late = copy_of(owner)
    late.cookies[COOKIE] = old

    response = sign_in(late, account)

    assert response["Location"].startswith("/2fa/verify/")
    theft_seen(account)


def test_old_secret_after_the_new_one_was_presented_is_a_copy(account, clock):
    owner, old = rotated(account, clock)
    owner.post("/accounts/logout/")
    assert sign_in(owner, account)["Location"] == "/"  # S1 presented: S1 -> S2
    thief = browser()
    thief.cookies[COOKIE] = old

    response = sign_in(thief, account)

    assert response["Location"].startswith("/2fa/verify/")
    theft_seen(account)
    assert owner.get("/").status_code == 302


def test_a_burst_of_wrong_passwords_makes_the_second_click_owe_a_code_too(account, clock):
    _owner, old = rotated(account, clock)
    # A burst takes longer than the grace window (the throttle spaces checked
    # failures out): the earlier ones stand in the account's window as they
    # would, and failures within the free allowance complete it, so the
    # password is still checked after them.
    checked = FREE_FAILURES - 1
    earlier = [
        (timezone.now() - timedelta(minutes=1 + index)).timestamp()
        for index in range(BURST - checked)
    ]
    for index in range(checked):
        if index == 1:
            PasswordThrottle.objects.filter(scope=PasswordThrottle.ACCOUNT).update(
                recent=[*earlier, timezone.now().timestamp()]
            )
        wrong = browser().post("/accounts/login/", {"username": "alice", "password": "wrong"})
        assert wrong.status_code == 200
    assert PasswordThrottle.objects.get(scope=PasswordThrottle.ACCOUNT).burst_at is not None
    again = browser()
    again.cookies[COOKIE] = old

    response = sign_in(again, account)

    assert response["Location"].startswith("/2fa/verify/")
    owed = again.get("/", HTTP_ACCEPT="application/json")
    assert owed.status_code == 401 and "password_failures" in owed.json()["reasons"]
    no_theft_seen(account)  # a code pays it; the device is not to blame


def test_old_secret_of_a_revoked_device_within_the_window_gets_nothing(account, clock):
    owner, old = rotated(account, clock)
    device = TrustedDevice.objects.get(user=account.user)
    assert owner.post(f"/devices/{device.pk}/revoke/").status_code == 302
    again = browser()
    again.cookies[COOKIE] = old

    response = sign_in(again, account)

    assert response["Location"].startswith("/2fa/verify/")
    assert again.get("/").status_code == 302
    assert not TrustedDevice.objects.filter(revoked_at__isnull=True).exists()


# --- helpers ---------------------------------------------------------------------


def _until_waiting_on_locks(count: int, attempts: int = 100_000) -> None:
    """Return once ``count`` other connections wait on a row lock (bounded)."""
    with connection.cursor() as cursor:
        for _ in range(attempts):
            # pg_stat_activity is a snapshot per transaction: take a new one.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= count:
                return
    raise AssertionError(f"{count} requests never queued on the device row")
