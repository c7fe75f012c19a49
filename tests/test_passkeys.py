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


def passkey_step_up(client, key: Authenticator, *, trust: bool = True, next=None, **answer):
    options = client.post("/2fa/verify/passkey/options/")
    assert options.status_code == 200, options.content
    data = {"credential": json.dumps(key.get(options.json(), **answer))}
    if trust:
        data["trust_device"] = "on"
    if next is not None:
        data["next"] = next
    return client.post("/2fa/verify/passkey/", data)


def kinds(account) -> list[str]:
    return list(
        SecurityEvent.objects.filter(user=account.user)
        .order_by("pk")
        .values_list("kind", flat=True)
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
        pytest.param(
            lambda a: {**a, "response": {**a["response"], "clientDataJSON": "e30"}},
            id="client-data",
        ),
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


# --- the step-up ------------------------------------------------------------------


def test_code_page_offers_the_passkey_only_to_its_holders(with_passkey, make_user):
    client = browser(SAFARI_IPHONE)
    sign_in(client, with_passkey_account := make_user("carol"))
    assert "Use a passkey" not in client.get("/2fa/verify/").content.decode()
    assert client.post("/2fa/verify/passkey/options/").status_code == 400
    assert with_passkey_account.device is not None


def test_new_device_steps_up_with_a_passkey_and_trusts_the_browser(with_passkey, account):
    _client, key = with_passkey
    phone = browser(SAFARI_IPHONE)
    assert sign_in(phone, account, next_url="/devices/")["Location"].startswith("/2fa/verify/")
    page = phone.get("/2fa/verify/?next=/devices/").content.decode()
    assert "Use a passkey" in page and "passkeys.js" in page
    response = passkey_step_up(phone, key, next="/devices/")
    assert response.status_code == 302 and response["Location"] == "/devices/"
    assert phone.get("/").status_code == 200
    passkey = WebAuthnCredential.objects.get(user=account.user)
    trusted = TrustedDevice.objects.get(user=account.user, revoked_at__isnull=True)
    assert trusted.otp_device == passkey.persistent_id  # trust bound to the passkey
    passkey.refresh_from_db()
    assert passkey.last_used_at is not None
    event = (
        SecurityEvent.objects.filter(user=account.user, kind="step_up_passed").order_by("pk").last()
    )
    assert event.reasons == ["passkey"]
    # The devices page names the passkey that made this trust.
    listing = phone.get("/devices/").content.decode()
    assert f'<dd class="factor">{passkey.name}</dd>' in listing
    # Sign out and in again: the browser is trusted, no prompt.
    phone.post("/accounts/logout/")
    assert sign_in(phone, account)["Location"] == "/"
    assert phone.get("/").status_code == 200


def test_a_passkey_step_up_is_a_fresh_factor_for_sudo(with_passkey, account):
    _client, key = with_passkey
    phone = browser(SAFARI_IPHONE)
    sign_in(phone, account)
    passkey_step_up(phone, key, trust=False)
    assert phone.get("/2fa/passkeys/").status_code == 200
    regenerated = phone.post("/2fa/backup-codes/")
    assert regenerated.status_code == 200 and regenerated.content.decode().count("<code>") == 10


def test_removing_the_passkey_voids_its_trust_and_ends_its_sessions(with_passkey, account):
    client, key = with_passkey
    phone = browser(SAFARI_IPHONE)
    sign_in(phone, account)
    passkey_step_up(phone, key)
    passkey = WebAuthnCredential.objects.get(user=account.user)
    response = client.post(f"/2fa/passkeys/{passkey.pk}/remove/")
    assert response.status_code == 302
    assert not WebAuthnCredential.objects.exists()
    trusted = TrustedDevice.objects.get(user=account.user)
    assert trusted.revoked_at is not None and trusted.revoked_reason == "passkey_removed"
    assert phone.get("/")["Location"].startswith("/accounts/login/")  # signed out
    assert sign_in(phone, account)["Location"].startswith("/2fa/verify/")  # trust gone
    assert "passkey_removed" in kinds(account)
    assert client.get("/").status_code == 200  # the session removing it goes on


def test_another_users_passkey_is_not_removable(with_passkey, make_user, clock):
    bob = make_user("bob")
    bobs = verified_browser(bob, clock, user_agent=SAFARI_IPHONE)
    passkey = WebAuthnCredential.objects.get()
    assert bobs.post(f"/2fa/passkeys/{passkey.pk}/remove/").status_code == 404
    assert WebAuthnCredential.objects.filter(pk=passkey.pk).exists()


def _other_users_key(make_user, clock):
    bob = make_user("bob")
    client = verified_browser(bob, clock, user_agent=SAFARI_IPHONE)
    key = Authenticator()
    add_passkey(client, key, name="Bob's")
    return key


HOSTILE = {
    "phishing-origin": lambda key, options: key.get(options, origin="https://evil.example"),
    "other-rp-id": lambda key, options: key.get(options, rp_id="evil.example"),
    "bad-signature": lambda key, options: {
        **(answer := key.get(options)),
        "response": {
            **answer["response"],
            "signature": answer["response"]["signature"][:-4] + "AAAA",
        },
    },
    "other-challenge": lambda key, options: key.get(
        {**options, "challenge": "AAAAAAAAAAAAAAAAAAAAAA"}
    ),
    "unknown-credential": lambda key, options: Authenticator().get(options),
    "not-a-dict": lambda key, options: ["x"],
    "empty": lambda key, options: {},
}


@pytest.mark.parametrize("attack", sorted(HOSTILE))
def test_a_hostile_assertion_is_refused_logged_and_verifies_nothing(with_passkey, account, attack):
    _client, key = with_passkey
    phone = browser(SAFARI_IPHONE)
    sign_in(phone, account)
    options = phone.post("/2fa/verify/passkey/options/").json()
    answer = HOSTILE[attack](key, options)
    response = phone.post(
        "/2fa/verify/passkey/", {"credential": json.dumps(answer), "trust_device": "on"}
    )
    assert response.status_code == 400
    assert "That passkey did not work" in response.content.decode()
    assert phone.get("/")["Location"].startswith("/2fa/verify/")  # still owes a code
    assert not TrustedDevice.objects.exists()
    failed = (
        SecurityEvent.objects.filter(user=account.user, kind="step_up_failed").order_by("pk").last()
    )
    assert failed.reasons == ["passkey"]


def test_another_users_passkey_does_not_pass_my_step_up(with_passkey, account, make_user, clock):
    bobs_key = _other_users_key(make_user, clock)
    phone = browser(FIREFOX_WINDOWS)
    sign_in(phone, account)
    assert passkey_step_up(phone, bobs_key).status_code == 400
    assert phone.get("/")["Location"].startswith("/2fa/verify/")


def test_an_assertion_works_once(with_passkey, account):
    _client, key = with_passkey
    phone = browser(SAFARI_IPHONE)
    sign_in(phone, account)
    options = phone.post("/2fa/verify/passkey/options/").json()
    answer = json.dumps(key.get(options))
    # Captured and replayed by another browser holding the same password.
    thief = browser(SAFARI_IPHONE)
    sign_in(thief, account)
    thief.post("/2fa/verify/passkey/options/")
    assert thief.post("/2fa/verify/passkey/", {"credential": answer}).status_code == 400
    assert phone.post("/2fa/verify/passkey/", {"credential": answer}).status_code == 302
    phone.post("/accounts/logout/")
    sign_in(phone, account)
    assert phone.post("/2fa/verify/passkey/", {"credential": answer}).status_code == 400


@pytest.mark.parametrize("body", [b"{", b"[]", b'"x"', b'{"credential": 5}', b"{}" + b" " * 70_000])
def test_hostile_json_bodies_are_a_clean_400(with_passkey, account, body):
    phone = browser(SAFARI_IPHONE)
    sign_in(phone, account)
    phone.post("/2fa/verify/passkey/options/")
    response = phone.post("/2fa/verify/passkey/", body, content_type="application/json")
    assert response.status_code == 400 and response.json() == {"error": "invalid_passkey"}


def test_single_page_apps_step_up_with_a_passkey_in_json(with_passkey, account):
    _client, key = with_passkey
    spa = browser(SAFARI_IPHONE)
    sign_in(spa, account)
    gated = spa.get("/devices/", HTTP_ACCEPT="application/json")
    assert gated.status_code == 401 and gated.json()["error"] == "step_up_required"
    options = spa.post("/2fa/verify/passkey/options/", HTTP_ACCEPT="application/json").json()
    body = {"credential": key.get(options), "trust_device": True, "next": "/devices/"}
    response = spa.post("/2fa/verify/passkey/", body, content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {"verified": True, "next": "/devices/"}
    assert spa.get("/devices/", HTTP_ACCEPT="application/json").status_code == 200
    assert TrustedDevice.objects.filter(user=account.user, revoked_at__isnull=True).count() == 1


@pytest.mark.throttling
def test_failed_assertions_share_the_codes_budget(with_passkey, account, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 1
    _client, key = with_passkey
    spa = browser(SAFARI_IPHONE)
    sign_in(spa, account)
    options = spa.post("/2fa/verify/passkey/options/").json()
    wrong = {"credential": key.get(options, origin="https://evil.example")}
    assert (
        spa.post("/2fa/verify/passkey/", wrong, content_type="application/json").status_code == 400
    )
    # Throttled now: even a good passkey answer, or a good code, is refused.
    options = spa.post("/2fa/verify/passkey/options/").json()
    good = {"credential": key.get(options)}
    throttled = spa.post("/2fa/verify/passkey/", good, content_type="application/json")
    assert throttled.status_code == 429 and throttled.json()["error"] == "throttled"
    assert throttled.json()["retry_after"] >= 1
    assert step_up(spa, account).status_code == 200  # the code page, with the wait message
    assert spa.get("/")["Location"].startswith("/2fa/verify/")


def test_the_hard_cap_locks_passkeys_too(with_passkey, account, settings):
    settings.OTP_FLOW_MAX_FAILURES = 3
    _client, key = with_passkey
    phone = browser(SAFARI_IPHONE)
    sign_in(phone, account)
    for _ in range(3):
        assert passkey_step_up(phone, key, origin="https://evil.example").status_code == 400
    blocked = passkey_step_up(phone, key)
    assert blocked.status_code == 400 and "locked" in blocked.content.decode()
    assert phone.get("/")["Location"].startswith("/2fa/verify/")


# --- request.trust, and passwordless sign-in ------------------------------------------


@pytest.mark.urls("tests.urls_trust_probe")
def test_request_trust_says_a_passkey_verified_the_session(with_passkey, account):
    _client, key = with_passkey
    phone = browser(SAFARI_IPHONE)
    sign_in(phone, account)
    passkey_step_up(phone, key, trust=False)
    assert phone.get("/probe/").json() == {
        "method": "otp",  # it counts exactly as a code
        "verified": True,
        "phishing_resistant": True,
        "is_verified": True,
    }
    other = browser(FIREFOX_WINDOWS)
    sign_in(other, account)
    step_up(other, account, trust=False)
    assert other.get("/probe/").json()["phishing_resistant"] is False  # a TOTP code


def sign_in_with_passkey(client, key: Authenticator, **answer):
    options = client.post("/2fa/passkey-sign-in/options/")
    assert options.status_code == 200, options.content
    assert options.json()["userVerification"] == "required"
    assert "allowCredentials" not in options.json() or not options.json()["allowCredentials"]
    data = {"credential": json.dumps(key.get(options.json(), **answer))}
    return client.post("/2fa/passkey-sign-in/", data)


def test_passwordless_sign_in_is_off_by_default(with_passkey):
    stranger = browser()
    assert stranger.post("/2fa/passkey-sign-in/options/").status_code == 404
    assert stranger.post("/2fa/passkey-sign-in/", {"credential": "{}"}).status_code == 404
    assert "Sign in with a passkey" not in stranger.get("/accounts/login/").content.decode()


@pytest.mark.urls("tests.urls_trust_probe")
def test_passwordless_sign_in_is_verified_never_gated_and_fresh_for_sudo(
    with_passkey, account, settings
):
    settings.OTP_FLOW_PASSKEY_PASSWORDLESS = True
    _client, key = with_passkey
    stranger = browser(SAFARI_IPHONE)
    assert "Sign in with a passkey" in stranger.get("/accounts/login/").content.decode()
    response = sign_in_with_passkey(stranger, key)
    assert response.status_code == 302 and response["Location"] == "/"
    assert stranger.get("/").status_code == 200  # no code asked, new device or not
    assert stranger.get("/probe/").json() == {
        "method": "passkey",
        "verified": True,
        "phishing_resistant": True,
        "is_verified": True,
    }
    assert stranger.get("/2fa/passkeys/").status_code == 200  # sudo accepts it
    assert "passkey_sign_in" in kinds(account)


@pytest.mark.parametrize("case", ["no-user-verification", "unknown", "phishing-origin"])
def test_passwordless_sign_in_refuses_what_is_not_a_full_passkey(
    with_passkey, account, settings, case
):
    settings.OTP_FLOW_PASSKEY_PASSWORDLESS = True
    _client, key = with_passkey
    answer = {}
    if case == "no-user-verification":
        key.user_verified = False  # possession alone is one factor, not two
    elif case == "unknown":
        key = Authenticator()
    else:
        answer = {"origin": "https://evil.example"}
    stranger = browser(SAFARI_IPHONE)
    response = sign_in_with_passkey(stranger, key, **answer)
    assert response["Location"] == "/accounts/login/?passkey=failed"
    assert stranger.get("/")["Location"].startswith("/accounts/login/")


def test_passwordless_sign_in_refuses_a_deactivated_account(with_passkey, account, settings):
    settings.OTP_FLOW_PASSKEY_PASSWORDLESS = True
    _client, key = with_passkey
    account.user.is_active = False
    account.user.save()
    stranger = browser(SAFARI_IPHONE)
    assert sign_in_with_passkey(stranger, key)["Location"] == "/accounts/login/?passkey=failed"
    assert stranger.get("/")["Location"].startswith("/accounts/login/")
