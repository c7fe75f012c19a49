"""One code, one success: parallel step-ups against a live server.

Real HTTP from real threads: each "browser" is a urllib opener with its own
cookie jar that signs in (CSRF and all) before the race. Runs on whatever
database the suite runs on: PostgreSQL (row locks) and SQLite (a file, WAL,
IMMEDIATE transactions; see conftest.django_db_modify_db_settings).
"""

from __future__ import annotations

import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar

import pytest
from django.db import connection
from pytest_django.live_server_helper import LiveServer

from tests.agents import CHROME_WINDOWS
from trust.models import SecurityEvent, TrustedDevice

RACERS = 8
TIMEOUT = 30  # seconds, per request: a stuck lock fails the test, never hangs it


@pytest.fixture
def server(transactional_db):
    """A live server on 127.0.0.1 and a free port, for this test only."""
    # Threads sharing one in-memory connection would race nothing.
    assert not (connection.vendor == "sqlite" and connection.is_in_memory_db())
    live = LiveServer("127.0.0.1")
    yield live
    live.stop()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )

    def request(self, path: str, data: dict | None = None, accept: str = "text/html"):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(
            self.base + path,
            data=body,
            headers={"User-Agent": CHROME_WINDOWS, "Accept": accept},
        )
        try:
            with self.opener.open(req, timeout=TIMEOUT) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:  # 3xx (not followed), 4xx, 5xx
            if 300 <= error.code < 400:
                return error.code, error.headers.get("Location", "")
            return error.code, error.read().decode(errors="replace")

    def csrf(self, path: str) -> str:
        status, html = self.request(path)
        assert status == 200, (path, status)
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        assert match
        return match.group(1)

    def sign_in(self, account) -> None:
        token = self.csrf("/accounts/login/")
        status, _ = self.request(
            "/accounts/login/",
            {
                "csrfmiddlewaretoken": token,
                "username": account.user.get_username(),
                "password": account.password,
            },
        )
        assert status == 302

    def verified(self) -> bool:
        status, _ = self.request("/", accept="application/json")
        assert status in (200, 401), status
        return status == 200


def race(posts) -> list[tuple[int, str]]:
    """Run the ``posts`` callables at once (a barrier releases them together)."""
    barrier = threading.Barrier(len(posts), timeout=TIMEOUT)

    def run(post):
        barrier.wait()
        return post()

    with ThreadPoolExecutor(max_workers=len(posts)) as pool:
        return list(pool.map(run, posts, timeout=TIMEOUT * 2))


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

    statuses = [status for status, _ in results]
    assert all(status < 500 for status in statuses), statuses
    passed = [body for status, body in results if status == 302]
    assert passed == ["/"], results  # the one that got the code in, sent on
    assert sum(b.verified() for b in browsers) == 1
    assert SecurityEvent.objects.filter(user=account.user, kind="step_up_passed").count() == 1


def test_same_code_posted_in_parallel_by_one_session_passes_once(server, account):
    tab = Browser(server.url)
    tab.sign_in(account)
    token = tab.csrf("/2fa/verify/")
    code = account.code()

    results = race(
        [
            lambda: tab.request("/2fa/verify/", {"csrfmiddlewaretoken": token, "otp_token": code})
            for _ in range(RACERS)
        ]
    )

    statuses = [status for status, _ in results]
    assert all(status < 500 for status in statuses), statuses
    # The first pass rotates the session key; requests of the old key that
    # arrive after it find no session and are sent to sign in.
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
