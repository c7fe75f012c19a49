"""Sudo mode: turning 2FA off, new backup codes, a new authenticator need a fresh code."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from otp_flow import codes, verification
from otp_flow.models import BackupCode, BackupCodeDevice
from tests.agents import FIREFOX_WINDOWS, SAFARI_IPHONE
from tests.conftest import Authenticator, browser, sign_in, step_up, totp_code, trusted_browser
from trust.models import SecurityEvent, TrustedDevice, TrustedSession


def give_codes(account) -> list[str]:
    device = BackupCodeDevice.objects.create(user=account.user, name="Backup codes")
    return device.replace_codes()


def verified_browser(account, clock, user_agent=FIREFOX_WINDOWS):
    """Signed in with a code just now, trusting nothing."""
    client = browser(user_agent)
    sign_in(client, account)
    assert step_up(client, account, trust=False).status_code == 302
    clock.shift(timedelta(seconds=31))  # the next code is a new time step
    return client


def live_devices(account):
    return TrustedDevice.objects.filter(user=account.user, revoked_at__isnull=True)


# --- turning 2FA off ------------------------------------------------------------


def test_disable_without_a_code_is_refused(account, clock):
    client = verified_browser(account, clock)  # even with sudo fresh
    for data in [{}, {"otp_token": ""}, {"otp_token": "not a code"}]:
        response = client.post("/2fa/disable/", data)
        assert response.status_code == 400
    assert TOTPDevice.objects.filter(user=account.user).exists()
    assert client.get("/").wsgi_request.trust.method == "otp"


def test_disable_with_a_stale_code_is_refused(account, clock):
    client = verified_browser(account, clock)
    clock.shift(timedelta(minutes=11))
    stale = account.code(at=(clock_now() - timedelta(minutes=11)).timestamp())
    response = client.post("/2fa/disable/", {"otp_token": stale})
    assert response.status_code == 400
    assert TOTPDevice.objects.filter(user=account.user).exists()
    assert not SecurityEvent.objects.filter(kind="two_factor_disabled").exists()


def clock_now():
    from django.utils import timezone

    return timezone.now()


def test_disable_with_a_fresh_code_removes_factor_trust_and_other_sessions(account, clock):
    give_codes(account)
    laptop = trusted_browser(account, clock)
    sign_in(laptop, account)
    assert laptop.get("/").status_code == 200
    phone = trusted_browser(account, clock, SAFARI_IPHONE)
    sign_in(phone, account)
    assert live_devices(account).count() == 2

    response = phone.post("/2fa/disable/", {"otp_token": account.code()})
    assert response.status_code == 200
    assert "is off" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=account.user).exists()
    assert not BackupCodeDevice.objects.filter(user=account.user).exists()
    assert not BackupCode.objects.exists()
    assert not live_devices(account).exists()
    assert SecurityEvent.objects.filter(user=account.user, kind="two_factor_disabled").count() == 1
    # The other session is signed out; this one goes on, with password only.
    assert laptop.get("/")["Location"].startswith("/accounts/login/")
    home = phone.get("/")
    assert home.status_code == 200 and home.wsgi_request.trust.method == "password"
    # And signing in again asks for nothing: 2FA is off.
    fresh = browser()
    sign_in(fresh, account)
    assert fresh.get("/").status_code == 200


def test_disable_with_a_backup_code(account, clock):
    made = give_codes(account)
    client = verified_browser(account, clock)
    assert client.post("/2fa/disable/", {"otp_token": made[0]}).status_code == 200
    assert not TOTPDevice.objects.filter(user=account.user).exists()


def test_disable_on_a_trusted_device_with_the_code_in_the_form(account, clock):
    client = trusted_browser(account, clock)
    sign_in(client, account)
    assert client.get("/").wsgi_request.trust.method == "trusted_device"
    assert client.post("/2fa/disable/", {"otp_token": account.code()}).status_code == 200
    assert not TOTPDevice.objects.filter(user=account.user).exists()


def test_disable_acts_only_on_post_and_needs_sign_in(account, clock, db):
    assert browser().post("/2fa/disable/", {"otp_token": "123456"}).status_code == 302
    client = verified_browser(account, clock)
    assert client.get("/2fa/disable/").status_code == 200  # the confirmation step
    assert client.put("/2fa/disable/").status_code == 405
    assert TOTPDevice.objects.filter(user=account.user).exists()


def test_pending_session_cannot_disable(account):
    client = browser()
    sign_in(client, account)
    response = client.post("/2fa/disable/", {"otp_token": account.code()})
    assert response["Location"].startswith("/2fa/verify/")
    assert TOTPDevice.objects.filter(user=account.user).exists()


# --- regenerating backup codes -------------------------------------------------------


def test_trusted_device_session_is_asked_for_a_code_before_regenerating(account, clock):
    made = give_codes(account)
    client = trusted_browser(account, clock)
    sign_in(client, account)
    assert client.get("/").wsgi_request.trust.method == "trusted_device"

    response = client.post("/2fa/backup-codes/")
    assert response.status_code == 302
    assert response["Location"] == "/2fa/verify/?next=/2fa/backup-codes/"
    assert BackupCode.objects.count() == 10
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert 'name="trust_device"' not in page.content.decode()  # not a sign-in

    response = client.post(
        "/2fa/verify/",
        {"otp_token": account.code(), "next": "/2fa/backup-codes/", "trust_device": "on"},
    )
    assert response.status_code == 302 and response["Location"] == "/2fa/backup-codes/"
    assert live_devices(account).count() == 1  # no second trust from a sudo code
    response = client.post("/2fa/backup-codes/")
    assert response.status_code == 200
    assert response.content.decode().count("<code>") == 10
    old = codes.Code(codes.BACKUP, made[0])
    assert not verification.verify(account.user, old).ok  # the old set is void


def test_sudo_lapses_after_its_timeout(account, clock, settings):
    client = verified_browser(account, clock)
    give_codes(account)
    clock.shift(timedelta(minutes=9))
    assert client.post("/2fa/backup-codes/").status_code == 200
    clock.shift(timedelta(minutes=1, seconds=1))
    assert client.post("/2fa/backup-codes/")["Location"].startswith("/2fa/verify/")

    settings.OTP_FLOW_SUDO_TIMEOUT = timedelta(hours=1)
    assert client.post("/2fa/backup-codes/").status_code == 200


def test_revoking_needs_no_code(account, clock):
    trusted_browser(account, clock, SAFARI_IPHONE)
    client = trusted_browser(account, clock)
    sign_in(client, account)
    target = live_devices(account).get(browser="Mobile Safari")
    response = client.post(f"/devices/{target.pk}/revoke/")
    assert response.status_code == 302 and response["Location"] == "/devices/"
    target.refresh_from_db()
    assert target.revoked_at is not None


# --- replacing the authenticator ----------------------------------------------------------


def test_replacing_the_authenticator(account, clock):
    old = account.device
    laptop = trusted_browser(account, clock)
    sign_in(laptop, account)
    assert laptop.get("/").status_code == 200
    client = trusted_browser(account, clock, SAFARI_IPHONE)
    sign_in(client, account)

    # A trusted-device session has entered no code: asked first.
    response = client.get("/2fa/replace/")
    assert response["Location"] == "/2fa/verify/?next=/2fa/replace/"
    client.post("/2fa/verify/", {"otp_token": account.code(), "next": "/2fa/replace/"})
    clock.shift(timedelta(seconds=31))
    page = client.get("/2fa/replace/")
    assert page.status_code == 200 and "otpauth://" in page.content.decode()
    assert "no-store" in page["Cache-Control"]
    new = Authenticator.from_page(page)

    # A code from the OLD authenticator does not confirm the new one.
    assert client.post("/2fa/replace/", {"otp_token": account.code()}).status_code == 200
    assert TOTPDevice.objects.filter(pk=old.pk).exists()

    clock.shift(timedelta(seconds=31))
    response = client.post("/2fa/replace/", {"otp_token": new.code()})
    assert response.status_code == 302
    [device] = TOTPDevice.objects.filter(user=account.user)
    assert device.confirmed and device.bin_key == new.key
    assert not live_devices(account).exists()
    assert SecurityEvent.objects.filter(kind="authenticator_replaced").count() == 1
    assert laptop.get("/")["Location"].startswith("/accounts/login/")
    assert client.get("/").status_code == 200

    # Signing in now asks for a code from the new authenticator.
    clock.shift(timedelta(seconds=31))
    fresh = browser()
    sign_in(fresh, account)
    assert fresh.post("/2fa/verify/", {"otp_token": totp_code(old)}).status_code == 200
    assert fresh.post("/2fa/verify/", {"otp_token": new.code()}).status_code == 302


@pytest.mark.parametrize("path", ["/2fa/replace/", "/2fa/backup-codes/"])
def test_sensitive_pages_need_sign_in(db, path):
    assert browser().get(path)["Location"].startswith("/accounts/login/")


def test_backup_codes_alone_still_mean_2fa_is_on(account, clock):
    from otp_flow.models import BackupCodeDevice

    made = BackupCodeDevice.objects.create(user=account.user, name="Backup codes").replace_codes()
    TOTPDevice.objects.filter(user=account.user).delete()  # say, an admin removed it
    client = browser()
    sign_in(client, account)
    assert client.get("/")["Location"].startswith("/2fa/verify/")
    # A trusted or password-only path to a new secret does not exist:
    assert client.get("/2fa/setup/").status_code == 302  # still gated
    assert client.post("/2fa/verify/", {"otp_token": made[0]}).status_code == 302
    assert "otpauth://" not in client.get("/2fa/setup/").content.decode()
    # A new authenticator goes through replace, which a fresh code unlocks.
    assert "otpauth://" in client.get("/2fa/replace/").content.decode()


def follow(client, url, hops=10):
    seen = []
    for _ in range(hops):
        response = client.get(url)
        if response.status_code != 302:
            return response
        url = response["Location"]
        seen.append(url)
    raise AssertionError(f"redirect loop: {seen}")


def test_a_factor_removed_elsewhere_leaves_no_redirect_loop(account, clock):
    pending = browser()
    sign_in(pending, account)
    verified = browser(FIREFOX_WINDOWS)
    sign_in(verified, account)
    assert step_up(verified, account, trust=False).status_code == 302
    clock.shift(timedelta(minutes=11))
    TOTPDevice.objects.filter(user=account.user).delete()  # an admin removed the lost phone

    assert follow(pending, "/").status_code == 200
    assert follow(verified, "/accounts/password/change/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_password_only_session_passes_sudo_only_while_the_user_has_no_factor(make_user):
    """The session says "no second factor"; sudo asks the database."""
    account = make_user(totp=False)
    client = browser()
    sign_in(client, account)
    assert client.get("/accounts/password/change/").status_code == 200
    # A sign-in racing the enrollment: its index entry is not there yet when
    # the factor is confirmed, so the sweep of password-only sessions misses it.
    TrustedSession.objects.filter(user=account.user).delete()
    TOTPDevice.objects.create(user=account.user, name="new", confirmed=True)
    assert client.get("/").status_code == 200  # survived the sweep...

    response = client.post("/2fa/backup-codes/")  # ...but sudo is not fooled
    assert response.status_code == 302
    assert response["Location"].startswith("/2fa/verify/")
