"""Token APIs behind the gate (trust.contrib.drf), driven through the test client.

A token minted by a password alone would answer API requests without a
second factor. /api/token/ mints one only for a session that passed the gate;
IsVerified and RecentCode ask request.trust, which speaks of the session.
"""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from rest_framework.authtoken.models import Token

from tests.conftest import browser, csrf_client, csrf_token_from, sign_in, step_up

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls_drf")]

JSON = {"HTTP_ACCEPT": "application/json"}


def mint(client, path="/api/token/", **extra):
    return client.post(path, content_type="application/json", **extra)


def trusted_session(account, clock):
    """A browser let in by its trusted device: password only, no code this session."""
    client = browser()
    sign_in(client, account)
    assert step_up(client, account, trust=True).status_code == 302
    client.post("/accounts/logout/")
    clock.shift(timedelta(seconds=31))
    sign_in(client, account)
    assert client.get("/api/me/").json()["trust"] == "trusted_device"
    return client


def code_page_step_up(client, account):
    """A code entered at the code page of a session that owes none (sudo)."""
    response = client.post("/2fa/verify/", {"otp_token": account.code()})
    assert response.status_code == 302, response.content[:300]


def test_password_only_gets_no_token_and_a_code_gets_one(account, clock):
    client = browser()
    sign_in(client, account)

    refused = mint(client)
    assert refused.status_code == 401
    assert refused.json()["error"] == "step_up_required"
    assert client.post("/api/token/").status_code == 302  # a form post: to the code page
    assert not Token.objects.exists()

    assert step_up(client, account, trust=False).status_code == 302
    minted = mint(client)
    assert minted.status_code == 200
    key = minted.json()["token"]
    assert Token.objects.get(user=account.user).key == key
    assert mint(client).json()["token"] == key  # the same token, not one more

    # The token works on its own, in a client with no session: DRF's user
    # comes from the token, and request.trust (the session's) says "not signed in".
    script = browser()
    answer = script.get("/api/me/", HTTP_AUTHORIZATION=f"Token {key}")
    assert answer.status_code == 200
    assert answer.json() == {"username": "alice", "trust": None}


def test_token_view_needs_the_csrf_token(account, clock):
    client = csrf_client()
    page = client.get("/accounts/login/")
    client.post(
        "/accounts/login/",
        {
            "username": "alice",
            "password": account.password,
            "csrfmiddlewaretoken": csrf_token_from(page.content.decode()),
        },
    )
    token = csrf_token_from(client.get("/2fa/verify/").content.decode())
    client.post("/2fa/verify/", {"otp_token": account.code(), "csrfmiddlewaretoken": token})
    assert client.get("/api/me/").json()["trust"] == "otp"

    assert mint(client).status_code == 403
    assert not Token.objects.exists()
    minted = mint(client, HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert minted.status_code == 200 and "token" in minted.json()


def basic(username, password):
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@pytest.mark.parametrize("credentials", ["none", "basic", "token", "garbage"])
def test_token_view_takes_no_credentials_but_the_session(account, credentials):
    """A password (HTTP Basic), another token or none: no token, whatever the form."""
    headers = {
        "none": {},
        "basic": {"HTTP_AUTHORIZATION": basic("alice", account.password)},
        "token": {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=account.user).key}"},
        "garbage": {"HTTP_AUTHORIZATION": "Token \x00" + "x" * 5000},
    }[credentials]
    before = list(Token.objects.values_list("key", flat=True))
    response = mint(browser(), **headers)
    assert response.status_code == 403
    assert "token" not in response.json()
    assert list(Token.objects.values_list("key", flat=True)) == before


def test_token_view_is_post_only(account, clock):
    client = browser()
    sign_in(client, account)
    step_up(client, account)
    assert client.get("/api/token/", **JSON).status_code == 405
    assert not Token.objects.exists()


def test_trusted_device_session_gets_a_token_by_default(account, clock):
    client = trusted_session(account, clock)
    assert mint(client).status_code == 200


def test_with_code_required_a_trusted_device_must_enter_a_code(account, clock):
    client = trusted_session(account, clock)

    refused = mint(client, path="/api/token-after-code/")
    assert refused.status_code == 403
    assert refused.json()["error"] == "code_required"
    assert refused.json()["verify_url"] == "/2fa/verify/"
    assert not Token.objects.exists()

    code_page_step_up(client, account)
    assert mint(client, path="/api/token-after-code/").status_code == 200


@pytest.mark.parametrize("path", ["/api/token/", "/api/token-after-code/"])
def test_user_without_2fa_gets_a_token(make_user, path):
    plain = make_user("bob", totp=False)
    client = browser()
    sign_in(client, plain)
    assert client.get("/api/me/").json()["trust"] == "password"
    assert mint(client, path=path).status_code == 200


def test_recent_code_refuses_a_trusted_device_until_a_code(account, clock):
    client = trusted_session(account, clock)
    refused = client.get("/api/recent-code/")
    assert refused.status_code == 403 and refused.json()["error"] == "code_required"
    assert client.get("/api/recent-code-composed/").status_code == 403

    code_page_step_up(client, account)
    assert client.get("/api/recent-code/").status_code == 200
    assert client.get("/api/recent-code-composed/").status_code == 200

    clock.shift(timedelta(minutes=5, seconds=1))  # RecentCode(minutes=5)
    assert client.get("/api/recent-code/").status_code == 403
    assert client.get("/api/recent-code-composed/").status_code == 403


def test_recent_code_never_counts_a_token(account, clock):
    client = browser()
    sign_in(client, account)
    step_up(client, account)
    key = mint(client).json()["token"]
    assert client.get("/api/recent-code/").status_code == 200  # the session: a code just now
    script = browser()
    assert script.get("/api/recent-code/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 403


def test_is_verified_takes_a_trusted_device_not_a_password(account, make_user, clock):
    assert trusted_session(account, clock).get("/api/verified/").status_code == 200

    plain = make_user("bob", totp=False)
    client = browser()
    sign_in(client, plain)
    assert client.get("/api/verified/").status_code == 403  # like is_verified(): no factor

    # HTTP Basic (DRF's default beside sessions) answers a password alone.
    answer = browser().get("/api/basic/", HTTP_AUTHORIZATION=basic("alice", account.password))
    assert answer.status_code == 403


def test_is_verified_never_lends_a_session_to_another_users_token(account, make_user, clock):
    """A verified session of alice and bob's token in one request: DRF's user is bob."""
    bob = make_user("bob")
    bobs_token = Token.objects.create(user=bob.user)  # bob's password went to some script
    client = browser()
    sign_in(client, account)
    step_up(client, account)
    assert client.get("/api/verified/").json()["username"] == "alice"

    mixed = client.get("/api/verified/", HTTP_AUTHORIZATION=f"Token {bobs_token.key}")
    assert mixed.status_code == 403
