"""Under ASGI the gate runs on the event loop: the stories hold, and a
session already decided makes no hop to a thread because of Trustgate.

Driven through Django's ``AsyncClient`` (the ASGI handler, in process). Each
story runs under ``async_to_sync`` so the database work the stack hands to
``sync_to_async`` (thread-sensitive) lands on the test's own connection.
"""

from __future__ import annotations

from datetime import timedelta
from http.cookies import SimpleCookie

import pytest
from asgiref.sync import SyncToAsync, async_to_sync, sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.agents import CHROME_WINDOWS, FIREFOX_WINDOWS
from tests.asgi_client import AsyncBrowser
from trust.models import TrustedDevice
from trust.rules.fingerprint import clear_caches, parse_agent

pytestmark = pytest.mark.urls("tests.urls_asgi")
TRUST = "trust.middleware.TrustMiddleware"


def async_browser(user_agent: str = CHROME_WINDOWS) -> AsyncBrowser:
    return AsyncBrowser(user_agent)


async def asign_in(client: AsyncBrowser, account):
    data = {"username": account.user.get_username(), "password": account.password}
    return await client.post("/accounts/login/", data)


async def astep_up(client: AsyncBrowser, account, *, trust: bool = True):
    data = {"otp_token": await sync_to_async(account.code)()}
    if trust:
        data["trust_device"] = "on"
    return await client.post("/2fa/verify/", data)


@pytest.fixture
def hops(monkeypatch) -> list[str]:
    """Every hop to a thread (``sync_to_async``, Django's or ours), by name.

    A spy: each call still goes through asgiref as it would."""
    seen: list[str] = []
    original = SyncToAsync.__call__

    async def counted(self, *args, **kwargs):
        seen.append(getattr(self.func, "__qualname__", None) or type(self.func).__name__)
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counted)
    return seen


# --- the stories ------------------------------------------------------------------


def test_sign_in_step_up_trusted_sign_in_and_revoke_under_asgi(account, clock):
    async def story():
        laptop = async_browser(CHROME_WINDOWS)
        signed_in = await asign_in(laptop, account)
        assert signed_in.status_code == 302
        assert signed_in["Location"].startswith("/2fa/verify/")  # a new device
        gated = await laptop.get("/awhoami/")
        assert gated.status_code == 302 and gated["Location"].startswith("/2fa/verify/")

        assert (await astep_up(laptop, account, trust=True)).status_code == 302
        page = await laptop.get("/awhoami/")
        assert page.status_code == 200 and page.content == b"alice True"
        assert page.asgi_request.trust.method == "otp"

        await laptop.post("/accounts/logout/")
        clock.shift(timedelta(seconds=31))
        again = await asign_in(laptop, account)  # the password alone
        assert again.status_code == 302 and not again["Location"].startswith("/2fa/")
        page = await laptop.get("/awhoami/")
        assert page.status_code == 200 and page.content == b"alice True"
        assert page.asgi_request.trust.method == "trusted_device"

        phone = async_browser(FIREFOX_WINDOWS)
        await asign_in(phone, account)
        clock.shift(timedelta(seconds=31))
        assert (await astep_up(phone, account, trust=False)).status_code == 302
        device = await TrustedDevice.objects.aget(user=account.user)
        assert (await phone.post(f"/devices/{device.pk}/revoke/")).status_code == 302

        ended = await laptop.get("/devices/")  # the laptop's session ended at once
        assert ended.status_code == 302 and ended["Location"].startswith("/accounts/login/")
        # Told why, for the sign-in page (trust.flows.signed_out), on the event loop too.
        assert ended.cookies["messages"].value
        assert (await laptop.get("/awhoami/")).content == b" False"  # anonymous
        challenged = await asign_in(laptop, account)
        assert challenged["Location"].startswith("/2fa/verify/")
        assert (await phone.get("/awhoami/")).status_code == 200

    async_to_sync(story)()


def test_a_wrong_code_under_asgi_is_refused(account):
    async def story():
        client = async_browser()
        await asign_in(client, account)
        right = await sync_to_async(account.code)()
        wrong = f"{(int(right) + 1) % 1_000_000:06d}"
        refused = await client.post("/2fa/verify/", {"otp_token": wrong})
        assert refused.status_code == 200  # the code page again
        assert (await client.get("/awhoami/")).status_code == 302

    async_to_sync(story)()


# --- no hop because of Trustgate --------------------------------------------------


def _session_of(account, clock, how: str) -> SimpleCookie:
    async def story():
        client = async_browser()
        await asign_in(client, account)
        await astep_up(client, account, trust=True)
        if how == "trusted_device":
            await client.post("/accounts/logout/")
            clock.shift(timedelta(seconds=31))
            await asign_in(client, account)
        page = await client.get("/awhoami/")
        assert page.asgi_request.trust.method == how
        return client.cookies

    return async_to_sync(story)()


def _one_request(settings, middleware, cookies, hops, path="/awhoami/"):
    settings.MIDDLEWARE = middleware

    async def once():
        client = async_browser()
        client.cookies = SimpleCookie(cookies.output(header="", sep=";"))
        return await client.get(path)

    once_sync = async_to_sync(once)
    once_sync()  # warm: middleware chain, caches
    hops.clear()
    with CaptureQueriesContext(connection) as queries:
        response = once_sync()
    return response, list(hops), len(queries)


@pytest.mark.parametrize("how", ["otp", "trusted_device"])
def test_a_decided_session_makes_no_hop_and_no_query_of_its_own(
    account, clock, settings, hops, how
):
    cookies = _session_of(account, clock, how)
    full = list(settings.MIDDLEWARE)
    bare = [m for m in full if m != TRUST]

    clear_caches()
    response, with_trust, queries_with = _one_request(settings, full, cookies, hops)
    assert response.status_code == 200 and response.content == b"alice True"
    assert parse_agent.cache_info().misses == 0  # nor a user-agent parse
    response, without_trust, queries_without = _one_request(settings, bare, cookies, hops)
    assert response.status_code == 200
    # Django's own hops (its middleware's hooks, the session, the user), only
    # earlier for the session (the gate reads it), and not one more.
    assert sorted(with_trust) == sorted(without_trust)
    assert not [name for name in with_trust if "Trust" in name]
    assert queries_with == queries_without


def test_an_anonymous_request_makes_no_hop(db, settings, hops):
    response, seen, queries = _one_request(
        settings, list(settings.MIDDLEWARE), SimpleCookie(), hops, "/accounts/login/"
    )
    assert response.status_code == 200
    assert queries == 0
    assert [name for name in seen if "Trust" in name or "admission" in name] == []
    bare = [m for m in settings.MIDDLEWARE if m != TRUST]
    _, without_trust, _ = _one_request(settings, bare, SimpleCookie(), hops, "/accounts/login/")
    assert len(seen) == len(without_trust)


def test_the_hourly_check_of_a_trusted_session_is_its_one_hop(account, clock, settings, hops):
    cookies = _session_of(account, clock, "trusted_device")
    clock.shift(timedelta(hours=1, minutes=1))
    full = list(settings.MIDDLEWARE)
    settings.MIDDLEWARE = full

    async def once():
        client = async_browser()
        client.cookies = cookies
        return await client.get("/awhoami/")

    response = async_to_sync(once)()
    assert response.status_code == 200
    assert any(name.endswith("touch") for name in hops), hops
    device = TrustedDevice.objects.get(user=account.user, revoked_at__isnull=True)
    assert device.last_seen_at is not None
