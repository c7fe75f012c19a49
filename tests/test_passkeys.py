"""Passkeys (django-otp-webauthn) on the same gate as codes.

A software authenticator (``tests/passkey_authenticator.py``) answers the
server's options with real P-256 signatures over real CBOR; py_webauthn
checks them as it checks a browser's. Nothing of ours is mocked.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django_otp_webauthn.models import WebAuthnCredential

from tests.agents import FIREFOX_WINDOWS, SAFARI_IPHONE
from tests.conftest import browser, sign_in, step_up
from tests.passkey_authenticator import Authenticator
from tests.test_sudo import verified_browser
from trust.models import SecurityEvent, TrustedDevice


def add_passkey(client, key: Authenticator, name: str = "Laptop"):
    options = client.post("/2fa/passkeys/add/options/")
    assert options.status_code == 200, options.content
    answer = key.create(options.json())
    return client.post("/2fa/passkeys/add/", {"name": name, "credential": json.dumps(answer)})


def passkey_step_up(client, key: Authenticator, *, trust: bool = True, **fields):
    options = client.post("/2fa/verify/passkey/options/")
    assert options.status_code == 200, options.content
    data = {"credential": json.dumps(key.get(options.json(), **fields))}
    if trust:
        data["trust_device"] = "on"
    return client.post("/2fa/verify/passkey/", data)


def kinds(account) -> list[str]:
    return list(
        SecurityEvent.objects.filter(user=account.user).order_by("pk").values_list("kind", flat=True)
    )


@pytest.fixture
def with_passkey(account, clock):
    """alice: TOTP and one passkey ("Laptop"), added from a Firefox session."""
    client = verified_browser(account, clock)
    key = Authenticator()
    assert add_passkey(client, key).status_code == 302
    return client, key


# --- registering ----------------------------------------------------------------


def test_adding_a_passkey_needs_a_fresh_second_factor(account, clock):
    client = browser()
    sign_in(client, account)
    step_up(client, account, trust=True)
    clock.shift(timedelta(minutes=11))  # the code is no longer fresh
    page = client.get("/2fa/passkeys/")
    assert page.status_code == 302 and page["Location"].startswith("/2fa/verify/")
    refused = client.post("/2fa/passkeys/add/options/")
    assert refused.status_code == 403 and refused.json()["error"] == "sudo_required"
    assert not WebAuthnCredential.objects.exists()


def test_added_passkey_is_listed_with_its_name_and_logged(with_passkey, account):
    client, _key = with_passkey
    page = client.get("/2fa/passkeys/").content.decode()
    assert "Laptop" in page and "Never" in page  # not used yet
    passkey = WebAuthnCredential.objects.get(user=account.user)
    assert passkey.name == "Laptop" and passkey.confirmed
    assert "passkey_added" in kinds(account)
    assert "two_factor_enabled" not in kinds(account)  # TOTP had turned it on


def test_a_passkey_as_the_first_factor_turns_2fa_on_with_backup_codes(make_user, clock):
    account = make_user("bob", totp=False)
    client = browser()
    sign_in(client, account)
    other = browser(SAFARI_IPHONE)
    sign_in(other, account)
    response = add_passkey(client, Authenticator(), name="Phone")
    assert response.status_code == 200
    assert response.content.decode().count("<code>") == 10  # backup codes, shown once
    assert response["Cache-Control"].count("no-store")
    assert {"passkey_added", "two_factor_enabled"} <= set(kinds(account))
    assert client.get("/").status_code == 200  # this session goes on, verified
    # A session that never owed a second factor ends once there is one.
    assert other.get("/")["Location"].startswith("/accounts/login/")


def test_a_replayed_registration_answer_is_refused(account, clock):
    client = verified_browser(account, clock)
    key = Authenticator()
    options = client.post("/2fa/passkeys/add/options/").json()
    answer = json.dumps(key.create(options))
    assert client.post("/2fa/passkeys/add/", {"name": "A", "credential": answer}).status_code == 302
    again = client.post("/2fa/passkeys/add/", {"name": "B", "credential": answer})
    assert again.status_code == 400
    assert WebAuthnCredential.objects.count() == 1


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda a: {**a, "response": {**a["response"], "clientDataJSON": "e30"}}, id="client-data"),
        pytest.param(lambda a: "not a dict", id="not-a-dict"),
        pytest.param(lambda a: {}, id="empty"),
        pytest.param(lambda a: {**a, "response": {"attestationObject": "!!"}}, id="garbage-cbor"),
    ],
)
def test_a_hostile_registration_answer_is_a_400_and_keeps_nothing(account, clock, tamper):
    client = verified_browser(account, clock)
    options = client.post("/2fa/passkeys/add/options/").json()
    answer = tamper(Authenticator().create(options))
    response = client.post("/2fa/passkeys/add/", {"name": "x", "credential": json.dumps(answer)})
    assert response.status_code == 400
    assert not WebAuthnCredential.objects.exists()


def test_a_passkey_made_for_a_phishing_site_is_refused(account, clock):
    client = verified_browser(account, clock)
    options = client.post("/2fa/passkeys/add/options/").json()
    answer = Authenticator(origin="https://trustgate.example.evil").create(options)
    response = client.post("/2fa/passkeys/add/", {"name": "x", "credential": json.dumps(answer)})
    assert response.status_code == 400
    assert not WebAuthnCredential.objects.exists()
