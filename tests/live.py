"""Real HTTP from real threads against a live server, for the race tests.

Each ``Browser`` is a urllib opener with its own cookie jar that signs in
(CSRF and all) as a browser does. ``race`` releases callables together.
Works on whatever database the suite runs on: PostgreSQL (row locks) and
SQLite (a file, WAL, IMMEDIATE transactions; see
conftest.django_db_modify_db_settings).
"""

from __future__ import annotations

import copy
import os
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookiejar import Cookie, CookieJar
from http.cookies import SimpleCookie

from django.db import connection
from pytest_django.live_server_helper import LiveServer

from tests.agents import CHROME_WINDOWS
from tests.processes import TEST_HOST, free_port

TIMEOUT = 30  # seconds, per request: a stuck lock fails the test, never hangs it


def serve() -> Iterator[LiveServer]:
    """A live server on ``TRUSTGATE_TEST_HOST`` (127.0.0.1) and a free port, from
    ``TRUSTGATE_TEST_PORTS`` when set (``yield from`` it in a fixture that asks
    for ``transactional_db``)."""
    # Threads sharing one in-memory connection would race nothing.
    assert not (connection.vendor == "sqlite" and connection.is_in_memory_db())
    # Port 0 unless a range is given: the system binds a free one, no race.
    ranged = bool(os.environ.get("TRUSTGATE_TEST_PORTS"))
    live = LiveServer(f"{TEST_HOST}:{free_port()}" if ranged else TEST_HOST)
    yield live
    live.stop()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class Answer:
    status: int
    text: str  # the Location of a redirect, else the body
    set_cookies: dict[str, str] = field(default_factory=dict)  # what it Set-Cookie'd


class Browser:
    def __init__(
        self, base: str, user_agent: str = CHROME_WINDOWS, headers: dict | None = None
    ) -> None:
        self.base = base
        self.user_agent = user_agent
        self.headers = headers or {}
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )

    def send(self, path: str, data: dict | None = None, accept: str = "text/html") -> Answer:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(
            self.base + path,
            data=body,
            headers={"User-Agent": self.user_agent, "Accept": accept, **self.headers},
        )
        try:
            with self.opener.open(req, timeout=TIMEOUT) as response:
                return Answer(response.status, response.read().decode(), _set(response.headers))
        except urllib.error.HTTPError as error:  # 3xx (not followed), 4xx, 5xx
            cookies = _set(error.headers)
            if 300 <= error.code < 400:
                return Answer(error.code, error.headers.get("Location", ""), cookies)
            return Answer(error.code, error.read().decode(errors="replace"), cookies)

    def request(self, path: str, data: dict | None = None, accept: str = "text/html"):
        answer = self.send(path, data, accept)
        return answer.status, answer.text

    def cookie(self, name: str) -> Cookie:
        (found,) = [cookie for cookie in self.jar if cookie.name == name]
        return found

    def clone(self) -> Browser:
        """The same browser at this instant, with a copy of each cookie.

        Requests raced from clones leave with the cookies they had when
        "clicked", as a browser's do: raced from one jar, a thread a loaded
        machine starts late sends what an earlier answer set meanwhile (a
        rotated CSRF cookie beside the page's old token: a 403 no browser
        would meet)."""
        other = Browser(self.base, self.user_agent, self.headers)
        for cookie in self.jar:
            other.jar.set_cookie(copy.copy(cookie))
        return other

    def holding(self, name: str, value: str) -> Browser:
        """Another jar of the same browser, holding only cookie ``name`` = ``value``."""
        kept = copy.copy(self.cookie(name))
        kept.value = value
        other = Browser(self.base, self.user_agent, self.headers)
        other.jar.set_cookie(kept)
        return other

    def csrf(self, path: str) -> str:
        status, html = self.request(path)
        assert status == 200, (path, status)
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        assert match
        return match.group(1)

    def sign_in_form(self, account) -> dict:
        return {
            "csrfmiddlewaretoken": self.csrf("/accounts/login/"),
            "username": account.user.get_username(),
            "password": account.password,
        }

    def sign_in(self, account) -> Answer:
        answer = self.send("/accounts/login/", self.sign_in_form(account))
        assert answer.status == 302
        return answer

    def verified(self) -> bool:
        status, _ = self.request("/", accept="application/json")
        assert status in (200, 401), status
        return status == 200


def _set(headers) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for header in headers.get_all("Set-Cookie") or []:
        jar.load(header)
    return {name: morsel.value for name, morsel in jar.items()}


def race(posts) -> list:
    """Run the ``posts`` callables at once (a barrier releases them together)."""
    barrier = threading.Barrier(len(posts), timeout=TIMEOUT)

    def run(post):
        barrier.wait()
        return post()

    with ThreadPoolExecutor(max_workers=len(posts)) as pool:
        return list(pool.map(run, posts, timeout=TIMEOUT * 2))
