"""Several app servers are one site: two gunicorn processes, one PostgreSQL
database, one Redis cache.

Driven over real HTTP with real cookie jars and real TOTP codes computed from
the key the setup page shows, as an authenticator app would.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from e2e.servers import (
    PG_BASE,
    REDIS_URL,
    TEST_HOST,
    TEST_PREFIX,
    free_port,
    gunicorn,
    manage,
    postgres_database,
    serving,
    site_env,
)

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15"
)
USERNAME = "multi-server"
PASSWORD = "two servers, one site, one passphrase"
WAIT = re.compile(r"(?i)too many attempts|wait \d+ seconds?")

pytestmark = pytest.mark.timeout(300)
requests = pytest.importorskip("requests")


def _reachable() -> str | None:
    """Why the leg cannot run here, or None."""
    try:
        import psycopg
        import redis
    except ImportError as missing:
        return f"{missing.name} not installed"
    try:
        psycopg.connect(f"{PG_BASE}/postgres", connect_timeout=3).close()
    except psycopg.Error as error:
        return f"PostgreSQL unreachable at {PG_BASE}: {error}"
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        return f"Redis unreachable at {REDIS_URL}: {error}"
    return None


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    if reason := _reachable():
        print(f"SKIPPED multi-server leg: {reason}")
        pytest.skip(reason)
    name = f"{TEST_PREFIX}_multi_{os.getpid()}_{secrets.token_hex(4)}"
    with postgres_database(PG_BASE, name) as url:
        yield url


@pytest.fixture(scope="module")
def servers(database, artifacts, tmp_path_factory) -> Iterator[tuple[str, str]]:
    env = site_env(
        DATABASE_URL=database,
        REDIS_URL=REDIS_URL,
        CACHE_KEY_PREFIX=f"{TEST_PREFIX}-multi-{secrets.token_hex(6)}",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(48),
        # localhost: the demo's passkey relying party (otp_flow.E021 checks it).
        DJANGO_ALLOWED_HOSTS=f"{TEST_HOST},localhost",
    )
    manage(env, "migrate", "--noinput")
    port_a, port_b = free_port(), free_port()
    logs = artifacts / "multiserver"
    with (
        serving(gunicorn(port_a), env, port_a, logs / "server-a.log") as a,
        serving(gunicorn(port_b), env, port_b, logs / "server-b.log") as b,
    ):
        yield a, b


class Browser:
    """A cookie jar and a user agent, talking to whichever server it is told."""

    def __init__(self, user_agent: str) -> None:
        self.http = requests.Session()
        self.http.headers["User-Agent"] = user_agent

    def get(self, url: str) -> requests.Response:
        return self.http.get(url, allow_redirects=False, timeout=30)

    def form(self, url: str, data: dict[str, str], page: str | None = None) -> requests.Response:
        """Post ``data`` to ``url`` with the CSRF token from ``page`` (or ``url``)."""
        html = self.http.get(page or url, timeout=30).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        assert token, f"no form on {page or url}"
        data = {"csrfmiddlewaretoken": token.group(1), **data}
        return self.http.post(
            url, data=data, allow_redirects=False, timeout=30, headers={"Referer": url}
        )

    def sign_in(self, base: str) -> requests.Response:
        return self.form(f"{base}/accounts/login/", {"username": USERNAME, "password": PASSWORD})

    def sign_out(self, base: str) -> requests.Response:
        return self.form(f"{base}/accounts/logout/", {}, page=f"{base}/")

    def enter_code(self, base: str, code: str, trust: bool = True) -> requests.Response:
        data = {"otp_token": code, **({"trust_device": "on"} if trust else {})}
        return self.form(f"{base}/2fa/verify/", data)


def path_of(response: requests.Response) -> str:
    return urlsplit(response.headers.get("Location", "")).path


def code_at(secret: str, at: float) -> str:
    from django_otp.oath import TOTP

    totp = TOTP(base64.b32decode(secret))
    totp.time = at
    return f"{totp.token():06d}"


def test_two_servers_are_one_site(servers):
    a, b = servers

    # Sign up and enroll through A; trust this browser.
    first = Browser(CHROME_WINDOWS)
    signed_up = first.form(
        f"{a}/accounts/signup/",
        {"username": USERNAME, "password1": PASSWORD, "password2": PASSWORD},
    )
    assert signed_up.status_code == 302, signed_up.text[:500]
    setup = first.http.get(f"{a}/2fa/setup/", timeout=30).text
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', setup).group(1)
    secret = secret.replace(" ", "")
    enrolled_at = time.time()
    enrolled = first.form(
        f"{a}/2fa/setup/", {"otp_token": code_at(secret, enrolled_at), "trust_device": "on"}
    )
    # The answer to enrolling is the one page that shows the backup codes.
    assert enrolled.status_code == 200, enrolled.text[:500]
    assert enrolled.text.count("<li><code>") == 10

    # Trust established through A is recognized by B.
    assert first.sign_out(a).status_code == 302
    assert first.get(f"{a}/").status_code == 302  # signed out everywhere
    assert first.sign_in(b).status_code == 302
    home = first.get(f"{b}/")
    assert home.status_code == 200, path_of(home)
    assert "let in as a trusted device" in home.text
    assert first.get(f"{a}/").status_code == 200  # the same session on A

    # Another browser signs in through B, owes a code, and pays it through A.
    second = Browser(FIREFOX_LINUX)
    assert second.sign_in(b).status_code == 302
    assert path_of(second.get(f"{a}/")) == "/2fa/verify/"
    passed = second.enter_code(a, code_at(secret, max(time.time(), enrolled_at) + 30))
    assert passed.status_code == 302 and path_of(passed) == "/", passed.text[:500]
    assert second.get(f"{b}/").status_code == 200

    # Revoking the first through B ends its session on A at its next request.
    devices = second.http.get(f"{b}/devices/", timeout=30).text
    listed = re.findall(r'<li class="device" id="device-(\d+)">(.*?)</li>', devices, re.S)
    others = [pk for pk, item in listed if 'class="badge"' not in item]
    mine = [pk for pk, item in listed if 'class="badge"' in item]
    assert len(others) == 1 and len(mine) == 1, devices
    revoked = second.form(f"{b}/devices/{others[0]}/revoke/", {}, page=f"{b}/devices/")
    assert revoked.status_code == 302
    gone = first.get(f"{a}/")
    assert gone.status_code == 302 and path_of(gone) == "/accounts/login/"
    assert first.get(f"{b}/").status_code == 302
    assert second.get(f"{a}/").status_code == 200  # the one who revoked stays in


def test_throttling_counts_failures_from_both_servers(servers):
    a, b = servers
    third = Browser(SAFARI_MAC)
    assert third.sign_in(a).status_code == 302
    assert path_of(third.get(f"{b}/")) == "/2fa/verify/"

    # One failure through A: django-otp locks the device for 1 s.
    first_try = third.enter_code(a, "000000")
    assert first_try.status_code == 200 and not WAIT.search(first_try.text)
    time.sleep(1.2)  # A's own lock has passed: what follows is B's doing

    # A second failure through B locks it for 2 s, for both servers.
    second_try = third.enter_code(b, "111111")
    assert second_try.status_code == 200 and not WAIT.search(second_try.text)
    for server in (a, b):
        locked = third.enter_code(server, "222222")
        assert locked.status_code == 200
        assert WAIT.search(locked.text), f"{server} did not see the failures made elsewhere"
    assert path_of(third.get(f"{a}/")) == "/2fa/verify/"


def test_password_failures_on_both_servers_are_counted_together(servers, database):
    import psycopg

    a, b = servers
    name, password = "guessed-at", "a passphrase nobody guesses 7"
    owner = Browser(FIREFOX_LINUX)
    signed_up = owner.form(
        f"{b}/accounts/signup/", {"username": name, "password1": password, "password2": password}
    )
    assert signed_up.status_code == 302, signed_up.text[:500]
    assert owner.sign_out(b).status_code == 302

    # Five free failures, then three more, each after the wait the ones
    # before earned (1, 2, 4 s), taking turns between the two servers.
    guesser = Browser(SAFARI_MAC)
    for n, wait in enumerate([0, 0, 0, 0, 0, 1, 2, 4]):
        if wait:
            time.sleep(wait + 0.5)
        wrong = guesser.form(
            f"{(a, b)[n % 2]}/accounts/login/", {"username": name, "password": f"{n}"}
        )
        assert wrong.status_code == 200 and "Please enter a correct" in wrong.text

    # Counted as one: eight failures, so the next attempt waits 8 s, on both.
    for server in (a, b):
        refused = Browser(CHROME_WINDOWS).form(
            f"{server}/accounts/login/", {"username": name, "password": password}
        )
        assert refused.status_code == 200 and "Please enter a correct" in refused.text
    with psycopg.connect(database) as db:
        (failures,) = db.execute(
            "SELECT t.failures FROM trust_passwordthrottle t"
            " JOIN auth_user u ON u.id = t.user_id WHERE u.username = %s",
            [name],
        ).fetchone()
    assert failures == 8
