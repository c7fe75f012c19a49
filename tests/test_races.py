"""One code, one success: parallel step-ups against a live server.

Real HTTP from real threads (``tests.live``): each "browser" has its own
cookie jar and signs in (CSRF and all) before the race.
"""

from __future__ import annotations

import pytest

from tests.live import Browser, race, serve
from trust.models import SecurityEvent, TrustedDevice

CODE_PAGE = "<title>Enter your code"
RACERS = 8


@pytest.fixture
def server(transactional_db):
    yield from serve()


def test_same_code_in_parallel_sessions_verifies_at_most_one(server, account):
    browsers = [Browser(server.url) for _ in range(RACERS)]
    tokens = []
    for each in browsers:
        each.sign_in(account)
        tokens.append(each.csrf("/2fa/verify/"))  # pending: the code page is all it gets
    code = account.code()

    results = race(
        [
            lambda b=b, t=t: b.request(
                "/2fa/verify/", {"csrfmiddlewaretoken": t, "otp_token": code}
            )
            for b, t in zip(browsers, tokens, strict=True)
        ]
    )

    # The one that got the code in is sent on; every other is refused on the
    # code page (the code is spent).
    assert sorted(status for status, _ in results) == [200] * (RACERS - 1) + [302], results
    passed = [body for status, body in results if status == 302]
    assert passed == ["/"], results
    assert all(CODE_PAGE in body for status, body in results if status == 200), results
    assert sum(b.verified() for b in browsers) == 1
    assert SecurityEvent.objects.filter(user=account.user, kind="step_up_passed").count() == 1


def test_same_code_posted_in_parallel_by_one_session_passes_once(server, account):
    tab = Browser(server.url)
    tab.sign_in(account)
    token = tab.csrf("/2fa/verify/")
    code = account.code()

    # Posted at once: every request leaves with the cookies the tab had then.
    results = race(
        [
            lambda each=tab.clone(): each.request(
                "/2fa/verify/", {"csrfmiddlewaretoken": token, "otp_token": code}
            )
            for _ in range(RACERS)
        ]
    )

    # The first pass rotates the session key; requests of the old key that
    # arrive after it find no session and are sent to sign in. Those before it
    # are refused on the code page. Nothing else.
    for status, body in results:
        sent_on = status == 302 and (body == "/" or body.startswith("/accounts/login/"))
        refused = status == 200 and CODE_PAGE in body
        assert sent_on or refused, (status, body[:200])
    passed = [body for status, body in results if status == 302 and body == "/"]
    assert len(passed) <= 1, results
    assert SecurityEvent.objects.filter(user=account.user, kind="step_up_passed").count() <= 1


def test_parallel_first_requests_of_a_trusted_browser_revoke_nothing(server, account):
    """The benign race: right after a trusted sign-in, a page and its XHRs
    arrive together carrying the same device secret; one rotates it."""
    first = Browser(server.url)
    first.sign_in(account)
    token = first.csrf("/2fa/verify/")
    status, _ = first.request(
        "/2fa/verify/",
        {"csrfmiddlewaretoken": token, "otp_token": account.code(), "trust_device": "on"},
    )
    assert status == 302
    (trust_cookie,) = [cookie for cookie in first.jar if cookie.name == "trustgate_token"]

    laptop = Browser(server.url)  # the same browser, after a restart
    laptop.jar.set_cookie(trust_cookie)
    laptop.sign_in(account)
    results = race([lambda: laptop.request("/", accept="application/json")] * RACERS)

    statuses = [status for status, _ in results]
    assert all(status in (200, 401) for status in statuses), results
    assert 200 in statuses  # the request that rotated the secret got in
    device = TrustedDevice.objects.get(user=account.user)
    assert device.revoked_at is None
    assert not SecurityEvent.objects.filter(kind="copied_cookie_suspected").exists()

    # The cookie the browser kept is the new secret: trust goes on.
    again = Browser(server.url)
    (kept,) = [cookie for cookie in laptop.jar if cookie.name == "trustgate_token"]
    assert kept.value != trust_cookie.value
    again.jar.set_cookie(kept)
    again.sign_in(account)
    assert again.verified()
