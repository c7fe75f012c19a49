"""Pages that feel finished where it matters: destructive actions look
dangerous and are confirmed first (without script), a signed-out browser is
told why, the sudo code page names its action and has a way back, a used
backup code gets its own error, and the admin speaks in words."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django_otp.plugins.otp_email.models import EmailDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from otp_flow.forms import INVALID_BACKUP_CODE, INVALID_CODE
from otp_flow.models import BackupCodeDevice
from tests.agents import FIREFOX_WINDOWS
from tests.conftest import browser, sign_in, trusted_browser
from tests.test_sudo import verified_browser
from trust.models import SecurityEvent, SignInAttempt, TrustedDevice


def text(response) -> str:
    return unescape(re.sub(r"\s+", " ", response.content.decode()))


def two_trusted(account, clock):
    laptop = trusted_browser(account, clock)
    sign_in(laptop, account)
    phone = trusted_browser(account, clock, FIREFOX_WINDOWS)
    sign_in(phone, account)
    return laptop, phone


# --- confirmations and the danger style -----------------------------------------------


def test_revoke_on_the_devices_page_leads_to_a_confirmation_first(account, clock):
    laptop, _ = two_trusted(account, clock)
    page = laptop.get("/devices/").content.decode()
    phone = TrustedDevice.objects.get(user=account.user, user_agent__contains="Firefox")
    # The list links to the confirmation step, styled as danger.
    assert f'<a href="/devices/{phone.pk}/revoke/" class="button danger quiet">' in page
    assert 'method="post" action="/devices/' not in page

    confirm = laptop.get(f"/devices/{phone.pk}/revoke/")
    assert confirm.status_code == 200
    phone.refresh_from_db()
    assert phone.revoked_at is None  # asking changed nothing
    body = text(confirm)
    assert "Revoke Firefox on Windows?" in body
    assert f'<form method="post" action="/devices/{phone.pk}/revoke/">' in confirm.content.decode()
    assert '<button type="submit" class="danger">' in body
    assert 'href="/devices/" class="button secondary"' in body

    assert laptop.post(f"/devices/{phone.pk}/revoke/").status_code == 302
    phone.refresh_from_db()
    assert phone.revoked_reason == "revoked_by_user"


def test_the_confirmation_says_when_the_device_is_this_one(account, clock):
    laptop = trusted_browser(account, clock)
    sign_in(laptop, account)
    device = TrustedDevice.objects.get(user=account.user)
    assert "you will be signed out too" in text(laptop.get(f"/devices/{device.pk}/revoke/"))


def test_another_users_device_has_no_confirmation_page(account, make_user, clock):
    trusted_browser(account, clock)
    device = TrustedDevice.objects.get(user=account.user)
    bob = make_user("bob", totp=False)
    client = browser()
    sign_in(client, bob)
    assert client.get(f"/devices/{device.pk}/revoke/").status_code == 404


def test_revoke_all_is_confirmed_first_and_counts_the_others(account, clock):
    laptop, phone = two_trusted(account, clock)
    confirm = laptop.get("/devices/revoke-others/")
    assert confirm.status_code == 200
    assert "1 other device is signed out at once" in text(confirm)
    assert TrustedDevice.objects.filter(revoked_at__isnull=False).count() == 0
    assert phone.get("/").status_code == 200
    assert laptop.post("/devices/revoke-others/").status_code == 302
    assert phone.get("/")["Location"].startswith("/accounts/login/")


def test_turning_two_factor_off_is_its_own_confirmation_step_without_autofocus(account, clock):
    client = verified_browser(account, clock)
    manage = client.get("/2fa/setup/").content.decode()
    assert "autofocus" not in manage and "otp_token" not in manage  # no code field here
    assert '<a href="/2fa/disable/" class="button danger quiet">' in manage

    confirm = client.get("/2fa/disable/")
    page = confirm.content.decode()
    assert confirm.status_code == 200 and "autofocus" not in page
    assert 'name="otp_token"' in page and 'class="danger"' in page
    assert 'href="/2fa/setup/" class="button secondary"' in page
    assert TOTPDevice.objects.filter(user=account.user).exists()

    clock.shift(timedelta(seconds=31))
    wrong = client.post("/2fa/disable/", {"otp_token": "000000"})
    assert wrong.status_code == 400 and "autofocus" not in wrong.content.decode()
    assert client.post("/2fa/disable/", {"otp_token": account.code()}).status_code == 200
    assert not TOTPDevice.objects.filter(user=account.user).exists()


def test_the_danger_style_is_a_stylesheet_of_the_app(account, clock):
    from django.contrib.staticfiles import finders

    found = finders.find("trust/trustgate.css")
    assert found and "button.danger" in Path(found).read_text()
    client = verified_browser(account, clock)
    assert 'href="/static/trust/trustgate.css"' in client.get("/devices/").content.decode()


# --- the signed-out browser is told why ----------------------------------------------


@pytest.mark.parametrize(
    "storage",
    [
        "django.contrib.messages.storage.fallback.FallbackStorage",
        "django.contrib.messages.storage.session.SessionStorage",
        "django.contrib.messages.storage.cookie.CookieStorage",
    ],
)
def test_revoking_this_device_says_why_on_the_sign_in_page(account, clock, settings, storage):
    settings.MESSAGE_STORAGE = storage
    laptop = trusted_browser(account, clock)
    sign_in(laptop, account)
    device = TrustedDevice.objects.get(user=account.user)
    response = laptop.post(f"/devices/{device.pk}/revoke/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")
    assert "You revoked this device: it was signed out" in text(response)
    assert "_auth_user_id" not in laptop.session
    # Said once.
    assert "You revoked this device" not in text(laptop.get("/accounts/login/"))


# --- the sudo code page -----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "action", "cancel"),
    [
        ("/2fa/replace/", "To replace your authenticator app, confirm it's you", "/2fa/setup/"),
        ("/2fa/passkeys/", "To manage your passkeys, confirm it's you", "/2fa/setup/"),
        ("/accounts/password/change/", "To change your password, confirm it's you", "/"),
    ],
)
def test_the_sudo_page_names_the_action_and_offers_cancel(account, clock, path, action, cancel):
    client = trusted_browser(account, clock)
    sign_in(client, account)  # let in by the trusted device: no code yet
    asked = client.get(path)
    assert asked.status_code == 302 and asked["Location"].startswith("/2fa/verify/")
    page = client.get(asked["Location"])
    assert action in text(page)
    assert f'<a href="{cancel}" class="button secondary" id="cancel">' in page.content.decode()


def test_the_sudo_page_for_new_backup_codes(account, clock):
    client = trusted_browser(account, clock)
    sign_in(client, account)
    BackupCodeDevice.objects.create(user=account.user, name="Backup codes").replace_codes()
    asked = client.post("/2fa/backup-codes/")
    assert "To make new backup codes, confirm it's you" in text(client.get(asked["Location"]))


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/", "//evil.example/x", "/no-such-page/", "/<script>/", "/2fa/verify/"],
)
def test_the_sudo_page_names_nothing_for_a_next_it_does_not_know(account, clock, next_url):
    client = trusted_browser(account, clock)
    sign_in(client, account)
    page = client.get("/2fa/verify/", {"next": next_url})
    body = text(page)
    assert "confirm it's you" not in body and "evil.example" not in body
    assert "<script>" not in page.content.decode()
    assert '<a href="/" class="button secondary" id="cancel">' in page.content.decode()


def test_the_sudo_page_for_the_admin_names_it_and_cancels_to_its_index(make_user, clock):
    staff = make_user("root", is_staff=True, is_superuser=True)
    laptop = trusted_browser(staff, clock)
    sign_in(laptop, staff)
    asked = laptop.get("/admin/auth/user/")
    assert asked.status_code == 302 and asked["Location"].startswith("/2fa/verify/")
    page = laptop.get(asked["Location"])
    assert "To make changes in the administration, confirm it's you" in text(page)
    assert '<a href="/admin/" class="button secondary" id="cancel">' in page.content.decode()
    assert laptop.get("/admin/").status_code == 200  # where Cancel goes asks no code


def test_the_sign_in_code_page_has_no_cancel(account):
    client = browser()
    sign_in(client, account)
    page = client.get("/2fa/verify/").content.decode()
    assert 'id="cancel"' not in page and "confirm it's you" not in page


# --- a used backup code -----------------------------------------------------------


def test_a_used_backup_code_gets_the_backup_code_error(account):
    made = BackupCodeDevice.objects.create(user=account.user, name="Backup codes").replace_codes()
    first = browser()
    sign_in(first, account)
    assert first.post("/2fa/verify/", {"otp_token": made[0]}).status_code == 302

    again = browser(FIREFOX_WINDOWS)
    sign_in(again, account)
    response = again.post("/2fa/verify/", {"otp_token": made[0]})
    body = text(response)
    assert str(INVALID_BACKUP_CODE) in body
    assert str(INVALID_CODE) not in body
    assert "Each backup code works once" in body


def test_a_never_valid_backup_code_gets_the_same_words_as_a_used_one(account):
    """Used codes are deleted: the page cannot, and does not, tell the two apart."""
    BackupCodeDevice.objects.create(user=account.user, name="Backup codes").replace_codes()
    client = browser()
    sign_in(client, account)
    response = client.post("/2fa/verify/", {"otp_token": "abcd-efgh-jkmn-pqrs"})
    assert str(INVALID_BACKUP_CODE) in text(response)


def test_a_wrong_authenticator_code_still_says_check_your_authenticator(account):
    client = browser()
    sign_in(client, account)
    wrong = f"{(int(account.code()) + 1) % 1_000_000:06d}"
    body = text(client.post("/2fa/verify/", {"otp_token": wrong}))
    assert str(INVALID_CODE) in body and str(INVALID_BACKUP_CODE) not in body


# --- the admin ----------------------------------------------------------------------


@pytest.fixture
def admin_client(db):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "x")
    client = browser()
    client.force_login(admin)
    return client


def test_the_admin_shows_reasons_in_words(admin_client, account):
    event = SecurityEvent.objects.create(
        user=account.user, kind="device_revoked", reasons=["fingerprint_mismatch", "site_rule_7"]
    )
    SignInAttempt.objects.create(user=account.user, outcome="stepped_up", reasons=["new_device"])
    listing = text(admin_client.get("/admin/trust/securityevent/"))
    assert "the browser does not match the trusted device, site_rule_7" in listing
    assert '["fingerprint_mismatch"' not in listing and "[&quot;" not in listing
    detail = text(admin_client.get(f"/admin/trust/securityevent/{event.pk}/change/"))
    assert "the browser does not match the trusted device" in detail
    attempts = text(admin_client.get("/admin/trust/signinattempt/"))
    assert "new device" in attempts and '["new_device"]' not in attempts


def test_the_admin_says_an_email_code_device_is_no_second_factor(admin_client, account):
    EmailDevice.objects.create(user=account.user, name="sign-in codes", confirmed=False)
    listing = text(admin_client.get("/admin/otp_email/emaildevice/"))
    assert "(not a second factor)" in listing
    assert admin_client.get("/admin/otp_email/emaildevice/add/").status_code == 403


@pytest.mark.parametrize(
    ("reason", "said"),
    [
        ("by_user", "signed out from another of your devices"),
        ("by_admin", "An administrator signed this device out"),
    ],
)
def test_a_browser_revoked_from_elsewhere_is_told_why_on_the_sign_in_page(
    account, clock, reason, said
):
    laptop, phone = two_trusted(account, clock)
    device = TrustedDevice.objects.get(user=account.user, user_agent__contains="Firefox")
    if reason == "by_user":
        assert laptop.post(f"/devices/{device.pk}/revoke/").status_code == 302
    else:
        from trust import flows

        flows.revoke(device, reason="revoked_by_admin")
    response = phone.get("/devices/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")
    assert said in text(response)
    assert said not in text(phone.get("/accounts/login/"))  # once


def test_a_session_that_simply_ended_gets_no_revocation_story(account, clock):
    laptop = trusted_browser(account, clock)
    sign_in(laptop, account)
    laptop.cookies["sessionid"] = "no-such-session"  # expired, say
    response = laptop.get("/devices/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")
    assert "signed out" not in text(response).split("Sign in", 1)[0]
    assert "no longer trusted" not in text(response)


def test_a_copied_session_cookie_tells_nothing_to_a_browser_without_the_device(account, clock):
    """The notice rests on the device cookie: a dead session cookie alone says nothing."""
    laptop, phone = two_trusted(account, clock)
    device = TrustedDevice.objects.get(user=account.user, user_agent__contains="Firefox")
    stranger = browser(FIREFOX_WINDOWS)
    stranger.cookies["sessionid"] = phone.cookies["sessionid"].value
    laptop.post(f"/devices/{device.pk}/revoke/")
    assert "no longer trusted" not in text(stranger.get("/devices/", follow=True))
