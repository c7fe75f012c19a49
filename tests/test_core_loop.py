"""The core loop, driven as a person does: password, code, trust, revoke."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from tests.agents import CHROME_WINDOWS, CHROME_WINDOWS_NEWER, FIREFOX_WINDOWS, SAFARI_IPHONE
from tests.conftest import browser, sign_in, step_up, trusted_browser
from trust.flows.trusting import MAX_DEVICES
from trust.models import SecurityEvent, TrustedDevice

pytestmark = pytest.mark.django_db(transaction=False)


def test_familiar_browser_signs_in_with_password_only(account, clock):
    client = trusted_browser(account, clock)

    response = sign_in(client, account, next_url="/devices/")
    assert response.status_code == 302 and response["Location"] == "/devices/"
    page = client.get("/devices/")
    assert page.status_code == 200
    assert page.wsgi_request.trust.method == "trusted_device"
    assert page.wsgi_request.user.is_verified()
    assert "This device" in page.content.decode()


def test_browser_version_bump_keeps_trust(account, clock):
    client = trusted_browser(account, clock, CHROME_WINDOWS)
    client.defaults["HTTP_USER_AGENT"] = CHROME_WINDOWS_NEWER

    sign_in(client, account)
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("path", ["/", "/devices/", "/admin/", "/2fa/setup/", "/nowhere/"])
def test_new_device_gated_on_every_page(account, path):
    client = browser()
    sign_in(client, account)

    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/2fa/verify/?next=")


def test_new_device_gated_on_posts_too(account, clock):
    other = trusted_browser(account, clock)
    sign_in(other, account)
    device = TrustedDevice.objects.get(user=account.user)
    client = browser(FIREFOX_WINDOWS)
    sign_in(client, account)

    for path in [f"/devices/{device.pk}/revoke/", "/devices/revoke-others/", "/"]:
        response = client.post(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/2fa/verify/")
    device.refresh_from_db()
    assert device.revoked_at is None


def test_pending_session_gets_json_401_when_it_wants_json(account):
    client = browser()
    sign_in(client, account)

    response = client.get("/", HTTP_ACCEPT="application/json")
    assert response.status_code == 401
    assert response.json() == {
        "error": "step_up_required",
        "verify_url": "/2fa/verify/",
        "reasons": ["new_device"],
    }


def test_pending_session_is_not_verified(account):
    client = browser()
    sign_in(client, account)

    response = client.get("/2fa/verify/")
    assert response.status_code == 200
    assert response.wsgi_request.trust.pending
    assert not response.wsgi_request.user.is_verified()


def test_wrong_code_keeps_the_gate_right_code_opens_it_and_trusts(account):
    client = browser()
    sign_in(client, account)
    right = account.code()
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    response = client.post("/2fa/verify/", {"otp_token": wrong, "trust_device": "on"})
    assert response.status_code == 200
    assert "didn&#x27;t work" in response.content.decode()
    assert client.get("/").status_code == 302
    assert not TrustedDevice.objects.exists()

    response = client.post(
        "/2fa/verify/", {"otp_token": right, "trust_device": "on", "next": "/devices/"}
    )
    assert response.status_code == 302 and response["Location"] == "/devices/"
    home = client.get("/")
    assert home.status_code == 200
    assert home.wsgi_request.trust.method == "otp"
    device = TrustedDevice.objects.get(user=account.user)
    assert device.name == "Chrome on Windows"
    assert device.revoked_at is None


def test_verifying_without_trust_asks_again_next_time(account, clock):
    client = browser()
    sign_in(client, account)
    step_up(client, account, trust=False)
    assert client.get("/").status_code == 200
    assert not TrustedDevice.objects.exists()
    client.post("/accounts/logout/")
    clock.shift(timedelta(seconds=31))

    sign_in(client, account)
    assert client.get("/")["Location"].startswith("/2fa/verify/")


def test_code_is_accepted_once(account):
    first, second = browser(), browser()
    sign_in(first, account)
    sign_in(second, account)
    code = account.code()

    assert first.post("/2fa/verify/", {"otp_token": code}).status_code == 302
    assert second.post("/2fa/verify/", {"otp_token": code}).status_code == 200
    assert second.get("/").status_code == 302


def test_copied_cookie_in_another_browser_family_is_challenged(account, clock):
    original = trusted_browser(account, clock, CHROME_WINDOWS)
    thief = browser(FIREFOX_WINDOWS)
    thief.cookies = original.cookies  # the whole jar, device cookie included

    sign_in(thief, account)
    response = thief.get("/", HTTP_ACCEPT="application/json")
    assert response.status_code == 401
    assert response.json()["reasons"] == ["fingerprint_mismatch"]
    event = SecurityEvent.objects.get(user=account.user, kind="copied_cookie_suspected")
    assert event.reasons == ["fingerprint_mismatch"]

    # A right code re-trusts this browser with its own fingerprint.
    step_up(thief, account, trust=True)
    live = TrustedDevice.objects.get(user=account.user, revoked_at__isnull=True)
    assert live.name == "Firefox on Windows"


def test_revoked_device_is_signed_out_at_once_and_challenged_next_time(account, clock):
    laptop = trusted_browser(account, clock, CHROME_WINDOWS)
    sign_in(laptop, account)
    assert laptop.get("/").status_code == 200
    laptop_device = TrustedDevice.objects.get(user=account.user)

    phone = browser(SAFARI_IPHONE)
    sign_in(phone, account)
    clock.shift(timedelta(seconds=31))
    step_up(phone, account, trust=True)
    response = phone.post(f"/devices/{laptop_device.pk}/revoke/")
    assert response.status_code == 302

    # Its very next request arrives signed out.
    response = laptop.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    # And its next sign-in owes a code.
    sign_in(laptop, account)
    response = laptop.get("/", HTTP_ACCEPT="application/json")
    assert response.status_code == 401
    assert response.json()["reasons"] == ["revoked_token"]
    assert phone.get("/").status_code == 200


def test_revoke_others_keeps_this_device(account, clock):
    laptop = trusted_browser(account, clock, CHROME_WINDOWS)
    sign_in(laptop, account)
    phone = trusted_browser(account, clock, SAFARI_IPHONE)
    sign_in(phone, account)
    assert phone.get("/").status_code == 200

    assert phone.post("/devices/revoke-others/").status_code == 302
    assert laptop.get("/").status_code == 302
    assert phone.get("/").status_code == 200
    live = TrustedDevice.objects.filter(user=account.user, revoked_at__isnull=True)
    assert [d.name for d in live] == ["Safari on iPhone"]


def test_another_users_device_id_is_404_and_changes_nothing(account, make_user, clock):
    victim_browser = trusted_browser(account, clock)
    victim_device = TrustedDevice.objects.get(user=account.user)
    mallory = make_user("mallory")
    client = trusted_browser(mallory, clock)
    sign_in(client, mallory)
    assert client.get("/").status_code == 200

    for device_id in [victim_device.pk, 999_999]:
        assert client.post(f"/devices/{device_id}/revoke/").status_code == 404
    victim_device.refresh_from_db()
    assert victim_device.revoked_at is None
    sign_in(victim_browser, account)
    assert victim_browser.get("/").status_code == 200


def test_revoke_needs_post(account, clock):
    """A GET is the confirmation step: it asks, and revokes nothing."""
    client = trusted_browser(account, clock)
    sign_in(client, account)
    device = TrustedDevice.objects.get(user=account.user)
    assert client.get(f"/devices/{device.pk}/revoke/").status_code == 200
    assert client.put(f"/devices/{device.pk}/revoke/").status_code == 405
    device.refresh_from_db()
    assert device.revoked_at is None


def test_forwarded_for_is_ignored_without_proxy_settings(account):
    client = browser(REMOTE_ADDR="203.0.113.7")
    sign_in(client, account, HTTP_X_FORWARDED_FOR="198.51.100.99")
    client.post(
        "/2fa/verify/",
        {"otp_token": account.code(), "trust_device": "on"},
        HTTP_X_FORWARDED_FOR="198.51.100.99",
    )
    device = TrustedDevice.objects.get(user=account.user)
    assert device.first_ip == "203.0.113.7"
    assert device.network == "203.0.113.0/24"


OFFSITE = [
    "https://evil.example/",
    "//evil.example",
    "https:evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    " //evil.example",
    "http:999999999",
]


@pytest.mark.parametrize("target", OFFSITE)
def test_next_never_leads_off_site_from_the_code_page(account, target):
    client = browser()
    sign_in(client, account)
    response = client.post("/2fa/verify/", {"otp_token": account.code(), "next": target})
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize("target", OFFSITE)
def test_next_never_leads_off_site_from_sign_in(make_user, target):
    account = make_user(totp=False)
    response = sign_in(browser(), account, next_url=target)
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_trust_past_its_lifetime_is_not_recognized(account, clock):
    client = trusted_browser(account, clock)
    # Used every ten days, so never idle; the 30-day lifetime still ends it.
    for _ in range(2):
        clock.shift(timedelta(days=10))
        sign_in(client, account)
        assert client.get("/").status_code == 200
        client.post("/accounts/logout/")
    clock.shift(timedelta(days=10, seconds=1))

    sign_in(client, account)
    response = client.get("/", HTTP_ACCEPT="application/json")
    assert response.status_code == 401
    assert response.json()["reasons"] == ["expired"]


def test_trust_idle_too_long_is_not_recognized(account, clock):
    client = trusted_browser(account, clock)
    clock.shift(timedelta(days=14, seconds=1))

    sign_in(client, account)
    response = client.get("/", HTTP_ACCEPT="application/json")
    assert response.status_code == 401
    assert "expired" in response.json()["reasons"]


def other_trusted_devices(user, count, seen_at):
    """Trust this user holds on other browsers, last used at ``seen_at``."""
    TrustedDevice.objects.bulk_create(
        TrustedDevice(
            user=user,
            token_hash=f"{index:064x}",
            otp_device="otp_totp.totpdevice/0",
            browser="Edge",
            os="Linux",
            device_class="desktop",
            last_seen_at=seen_at,
            expires_at=seen_at + timedelta(days=30),
        )
        for index in range(count)
    )


def test_trusting_past_the_cap_evicts_the_least_recently_used(account, clock):
    first = trusted_browser(account, clock, CHROME_WINDOWS)
    trusted_browser(account, clock, FIREFOX_WINDOWS)
    # The cap's other places, all used more recently than the two above.
    other_trusted_devices(account.user, MAX_DEVICES - 2, timezone.now() + timedelta(seconds=1))
    sign_in(first, account)  # the Chrome one is now the most recently used
    assert first.get("/").status_code == 200
    first.post("/accounts/logout/")
    clock.shift(timedelta(seconds=31))

    trusted_browser(account, clock, SAFARI_IPHONE)

    live = TrustedDevice.objects.filter(user=account.user, revoked_at__isnull=True)
    assert live.count() == MAX_DEVICES
    assert sorted(d.name for d in live.exclude(browser="Edge")) == [
        "Chrome on Windows",
        "Safari on iPhone",
    ]
    evicted = TrustedDevice.objects.get(user=account.user, revoked_at__isnull=False)
    assert evicted.revoked_reason == "evicted"


def test_user_without_2fa_is_left_alone(make_user):
    account = make_user(totp=False)
    client = browser()
    sign_in(client, account)
    response = client.get("/")
    assert response.status_code == 200
    assert response.wsgi_request.trust.method == "password"


def test_trust_is_per_user_on_one_browser(account, make_user, clock):
    bob = make_user("bob")
    client = trusted_browser(account, clock)
    sign_in(client, bob)
    assert client.get("/").status_code == 302  # Alice's trust is not Bob's

    step_up(client, bob, trust=True)
    client.post("/accounts/logout/")
    clock.shift(timedelta(seconds=31))
    for person in (account, bob):
        sign_in(client, person)
        assert client.get("/").status_code == 200, person.user
        client.post("/accounts/logout/")


def test_signing_out_wipes_a_pending_step_up(account):
    client = browser()
    sign_in(client, account)
    key = client.session.session_key
    client.post("/accounts/logout/")
    assert not Session.objects.filter(session_key=key).exists()
    assert client.get("/")["Location"].startswith("/accounts/login/")
