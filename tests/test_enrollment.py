"""Story 4: enrolling an authenticator turns 2FA on, and only a code does."""

from __future__ import annotations

import re
from base64 import b32decode
from datetime import timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import Authenticator, browser, sign_in
from trust.models import SecurityEvent, TrustedDevice


def otpauth_uri(html: str) -> str:
    match = re.search(r'href="(otpauth://totp/[^"]+)"', html)
    assert match, "no otpauth link on the page"
    return match.group(1).replace("&amp;", "&")


def test_setup_page_shows_qr_key_and_link(make_user, settings):
    settings.OTP_TOTP_ISSUER = "Example Co"
    account = make_user(totp=False)
    client = browser()
    sign_in(client, account)

    response = client.get("/2fa/setup/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<svg" in html
    uri = urlsplit(otpauth_uri(html))
    params = parse_qs(uri.query)
    assert params["issuer"] == ["Example Co"]
    assert unquote(uri.path) == f"/Example Co:{account.user.username}"
    key_text = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', html).group(1)
    assert b32decode(key_text.replace(" ", "")) == b32decode(params["secret"][0])
    assert len(b32decode(params["secret"][0])) == 20  # 160 bits (RFC 4226 R6)
    # Nothing is written until a code is posted: the secret waits in the session.
    assert not TOTPDevice.objects.filter(user=account.user).exists()
    assert "no-store" in response["Cache-Control"]
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_reloading_setup_keeps_the_same_secret(make_user):
    account = make_user(totp=False)
    client = browser()
    sign_in(client, account)
    first = otpauth_uri(client.get("/2fa/setup/").content.decode())
    second = otpauth_uri(client.get("/2fa/setup/").content.decode())
    assert first == second
    assert not TOTPDevice.objects.filter(user=account.user).exists()


def test_a_secret_another_session_saw_is_never_confirmed(make_user, clock):
    """Someone who has only the password opens the setup page first: the
    secret they saw must not become the owner's authenticator."""
    account = make_user(totp=False)
    attacker = browser()
    sign_in(attacker, account)
    seen = Authenticator.from_page(attacker.get("/2fa/setup/"))
    attacker.post("/2fa/setup/", {"otp_token": "000000"})  # their pending device is saved

    owner = browser()
    sign_in(owner, account)
    app = Authenticator.from_page(owner.get("/2fa/setup/"))
    assert app.key != seen.key
    owner.post("/2fa/setup/", {"otp_token": app.code()})

    device = TOTPDevice.objects.get(user=account.user)
    assert device.confirmed and device.bin_key == app.key
    clock.shift(timedelta(seconds=31))
    thief = browser()
    sign_in(thief, account)
    assert thief.post("/2fa/verify/", {"otp_token": seen.code()}).status_code == 200
    assert thief.get("/")["Location"].startswith("/2fa/verify/")


def test_wrong_code_leaves_2fa_off(make_user):
    account = make_user(totp=False)
    client = browser()
    sign_in(client, account)
    app = Authenticator.from_page(client.get("/2fa/setup/"))
    wrong = f"{(int(app.code()) + 1) % 1_000_000:06d}"

    response = client.post("/2fa/setup/", {"otp_token": wrong, "trust_device": "on"})
    assert response.status_code == 200
    assert not TOTPDevice.objects.filter(user=account.user, confirmed=True).exists()
    assert not TrustedDevice.objects.exists()


def test_valid_code_turns_2fa_on_and_trusts_the_enrolling_browser(make_user, clock):
    account = make_user(totp=False)
    client = browser()
    sign_in(client, account)
    app = Authenticator.from_page(client.get("/2fa/setup/"))

    response = client.post("/2fa/setup/", {"otp_token": app.code(), "trust_device": "on"})
    assert response.status_code == 200  # the backup codes, shown this once
    assert response.content.decode().count("<code>") == 10
    device = TOTPDevice.objects.get(user=account.user)
    assert device.confirmed and device.bin_key == app.key
    assert client.get("/").wsgi_request.trust.method == "otp"
    assert TrustedDevice.objects.filter(user=account.user).count() == 1
    assert SecurityEvent.objects.filter(user=account.user, kind="two_factor_enabled").exists()

    client.post("/accounts/logout/")
    clock.shift(timedelta(seconds=31))
    sign_in(client, account)
    assert client.get("/").status_code == 200  # trusted: no code

    stranger = browser()
    sign_in(stranger, account)
    assert stranger.get("/")["Location"].startswith("/2fa/verify/")


def test_enrolling_without_trust_trusts_nothing(make_user):
    account = make_user(totp=False)
    client = browser()
    sign_in(client, account)
    app = Authenticator.from_page(client.get("/2fa/setup/"))
    client.post("/2fa/setup/", {"otp_token": app.code()})
    assert TOTPDevice.objects.get(user=account.user).confirmed
    assert not TrustedDevice.objects.exists()


def test_enrolling_ends_the_users_other_sessions(make_user):
    account = make_user(totp=False)
    elsewhere = browser()
    sign_in(elsewhere, account)
    assert elsewhere.get("/").status_code == 200
    client = browser()
    sign_in(client, account)
    app = Authenticator.from_page(client.get("/2fa/setup/"))
    client.post("/2fa/setup/", {"otp_token": app.code()})

    assert elsewhere.get("/")["Location"].startswith("/accounts/login/")
    assert client.get("/").status_code == 200


def test_pending_session_cannot_reach_a_new_secret(account):
    client = browser()
    sign_in(client, account)
    response = client.get("/2fa/setup/")
    assert response.status_code == 302
    assert response["Location"].startswith("/2fa/verify/")
    assert TOTPDevice.objects.filter(user=account.user).count() == 1


def test_enrolled_user_sees_no_new_secret(account):
    client = browser()
    sign_in(client, account)
    client.post("/2fa/verify/", {"otp_token": account.code()})
    html = client.get("/2fa/setup/").content.decode()
    assert "otpauth://" not in html
    assert TOTPDevice.objects.filter(user=account.user).count() == 1


def test_setup_needs_sign_in(db):
    response = browser().get("/2fa/setup/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db(transaction=True)  # the receiver acts after the commit
def test_2fa_turned_on_outside_the_setup_page_ends_password_only_sessions(make_user):
    account = make_user(totp=False)
    client = browser()
    sign_in(client, account)
    assert client.get("/").status_code == 200
    # An admin, a shell or another app adds a confirmed authenticator.
    TOTPDevice.objects.create(user=account.user, name="added elsewhere", confirmed=True)

    assert client.get("/")["Location"].startswith("/accounts/login/")
    sign_in(client, account)
    assert client.get("/")["Location"].startswith("/2fa/verify/")


@pytest.mark.django_db(transaction=True)
def test_a_device_saved_again_ends_nothing(account):
    client = browser()
    sign_in(client, account)
    client.post("/2fa/verify/", {"otp_token": account.code()})
    other = browser()
    sign_in(other, account)
    account.device.name = "renamed"
    account.device.save()
    assert client.get("/").status_code == 200
    assert other.get("/")["Location"].startswith("/2fa/verify/")  # still pending, not ended


def test_users_the_site_names_must_enroll_before_going_on(make_user, settings):
    settings.TRUST_ENROLLMENT_REQUIRED = "tests.enrollment_policy.staff_must_enroll"
    staff = make_user("operator", totp=False, is_staff=True)
    client = browser()
    response = sign_in(client, staff, next_url="/devices/")
    assert response["Location"] == "/2fa/setup/?next=/devices/"
    assert client.get("/")["Location"] == "/2fa/setup/?next=/"
    assert client.post("/devices/revoke-others/")["Location"].startswith("/2fa/setup/")
    app = Authenticator.from_page(client.get("/2fa/setup/"))
    assert client.post("/2fa/setup/", {"otp_token": app.code()}).status_code == 200
    assert client.get("/").status_code == 200

    others = make_user("visitor", totp=False)  # not named: left alone
    visitor = browser()
    assert sign_in(visitor, others)["Location"] == "/"
    assert visitor.get("/").status_code == 200
