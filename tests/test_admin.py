"""The admin: devices and events per user, revocation that ends sessions, no secrets shown."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from otp_flow.models import BackupCode, BackupCodeDevice
from otp_flow.verification import totp_device
from tests.conftest import browser, sign_in
from tests.test_credentials import two_trusted_sessions
from trust.models import SecurityEvent, TrustedDevice


@pytest.fixture
def admin_client(db):
    """A superuser without 2FA (the gate leaves them alone), signed in."""
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "x")
    client = browser()
    client.force_login(admin)
    return client


@pytest.fixture
def alice_in_use(account, clock):
    laptop, phone = two_trusted_sessions(account, clock)
    made = BackupCodeDevice.objects.create(user=account.user, name="Backup codes").replace_codes()
    return laptop, phone, made


def test_admin_revoke_action_ends_the_devices_sessions(admin_client, account, alice_in_use):
    laptop, phone, _ = alice_in_use
    laptop_device = TrustedDevice.objects.get(user=account.user, browser="Chrome")
    response = admin_client.post(
        "/admin/trust/trusteddevice/",
        {"action": "revoke_selected", "_selected_action": [laptop_device.pk]},
    )
    assert response.status_code == 302
    laptop_device.refresh_from_db()
    assert laptop_device.revoked_reason == "revoked_by_admin"
    assert laptop.get("/")["Location"].startswith("/accounts/login/")
    assert phone.get("/").status_code == 200


def test_admin_can_revoke_all_devices_of_a_user(admin_client, account, alice_in_use):
    laptop, phone, _ = alice_in_use
    one = TrustedDevice.objects.filter(user=account.user).first()
    admin_client.post(
        "/admin/trust/trusteddevice/",
        {"action": "revoke_all_of_their_users", "_selected_action": [one.pk]},
    )
    assert not TrustedDevice.objects.filter(user=account.user, revoked_at__isnull=True).exists()
    for client in (laptop, phone):
        assert client.get("/")["Location"].startswith("/accounts/login/")


def test_deleting_a_device_in_the_admin_ends_its_sessions(admin_client, account, alice_in_use):
    laptop, _, _ = alice_in_use
    device = TrustedDevice.objects.get(user=account.user, browser="Chrome")
    response = admin_client.post(f"/admin/trust/trusteddevice/{device.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert laptop.get("/")["Location"].startswith("/accounts/login/")


def test_devices_and_events_browsable_per_user(admin_client, account, make_user, alice_in_use):
    make_user("bob")
    uid = account.user.pk
    pages = [
        "/admin/trust/trusteddevice/",
        f"/admin/trust/trusteddevice/?user__id__exact={uid}",
        "/admin/trust/trusteddevice/?status=active",
        "/admin/trust/trusteddevice/?status=revoked",
        "/admin/trust/trusteddevice/?status=expired",
        "/admin/trust/securityevent/",
        f"/admin/trust/securityevent/?user__id__exact={uid}&kind__exact=device_trusted",
        "/admin/otp_flow/backupcodedevice/",
    ]
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page
    listed = admin_client.get(f"/admin/trust/securityevent/?user__id__exact={uid}")
    assert "Device trusted" in listed.content.decode()


def test_admin_never_shows_secrets_or_hashes(admin_client, account, alice_in_use):
    _, _, made = alice_in_use
    secrets_ = [d.token_hash for d in TrustedDevice.objects.all()]
    secrets_ += [c.code_hash for c in BackupCode.objects.all()]
    secrets_ += [c.lookup for c in BackupCode.objects.all()]
    secrets_ += made
    totp = totp_device(account.user)
    secrets_ += [totp.key]
    backup = BackupCodeDevice.objects.get(user=account.user)
    device = TrustedDevice.objects.filter(user=account.user).first()
    event = SecurityEvent.objects.filter(user=account.user).first()
    pages = [
        "/admin/trust/trusteddevice/",
        f"/admin/trust/trusteddevice/{device.pk}/change/",
        f"/admin/trust/securityevent/{event.pk}/change/",
        "/admin/otp_flow/backupcodedevice/",
        f"/admin/otp_flow/backupcodedevice/{backup.pk}/change/",
        "/admin/otp_totp/totpdevice/",
        f"/admin/otp_totp/totpdevice/{totp.pk}/change/",
    ]
    for page in pages:
        html = admin_client.get(page).content.decode()
        assert "otpauth://" not in html, page
        for secret in secrets_:
            assert secret not in html, page
    page = admin_client.get(f"/admin/otp_flow/backupcodedevice/{backup.pk}/change/")
    assert re.search(r">\s*10\s*<", page.content.decode())


def test_admin_resets_the_failure_cap(admin_client, account, settings, clock):
    settings.OTP_FLOW_MAX_FAILURES = 2
    made = BackupCodeDevice.objects.create(user=account.user, name="Backup codes").replace_codes()
    client = browser()
    sign_in(client, account)
    for _ in range(2):
        client.post("/2fa/verify/", {"otp_token": "zzzz-zzzz-zzzz-zzzz"})
    assert "locked" in client.post("/2fa/verify/", {"otp_token": made[0]}).content.decode()

    backup = BackupCodeDevice.objects.get(user=account.user)
    admin_client.post(
        "/admin/otp_flow/backupcodedevice/",
        {"action": "reset_code_failures", "_selected_action": [backup.pk]},
    )
    clock.shift(timedelta(seconds=1))
    assert client.post("/2fa/verify/", {"otp_token": made[0]}).status_code == 302


def test_admin_setting_a_password_revokes_trust(admin_client, account, alice_in_use):
    laptop, _, _ = alice_in_use
    new = "a password the admin chose 123"
    response = admin_client.post(
        f"/admin/auth/user/{account.user.pk}/password/",
        {"password1": new, "password2": new, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not TrustedDevice.objects.filter(user=account.user, revoked_at__isnull=True).exists()
    assert laptop.get("/")["Location"].startswith("/accounts/login/")


@pytest.mark.django_db(transaction=True)  # the receivers act after the commit
def test_deleting_an_authenticator_in_the_admin_ends_what_it_verified(admin_client, account, clock):
    laptop, phone = two_trusted_sessions(account, clock)
    mail.outbox.clear()
    response = admin_client.post(
        f"/admin/otp_totp/totpdevice/{account.device.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert set(TrustedDevice.objects.values_list("revoked_reason", flat=True)) == {
        "authenticator_removed"
    }
    for client in (laptop, phone):
        assert client.get("/")["Location"].startswith("/accounts/login/")
    assert SecurityEvent.objects.filter(user=account.user, kind="second_factor_removed").exists()
    assert [m.subject for m in mail.outbox] == ["A second factor was removed from your account"]
    assert admin_client.get("/admin/").status_code == 200  # the admin's own session goes on


@pytest.mark.django_db(transaction=True)
def test_an_authenticator_added_in_the_admin_is_an_alert(admin_client, make_user):
    bob = make_user("bob", totp=False)
    response = admin_client.post(
        "/admin/otp_totp/totpdevice/add/",
        {
            "user": bob.user.pk,
            "name": "Added by an admin",
            "confirmed": "on",
            "key": "00112233445566778899aabbccddeeff00112233",
            "step": 30,
            "t0": 0,
            "digits": 6,
            "tolerance": 1,
            "drift": 0,
            "throttling_failure_count": 0,
        },
    )
    assert response.status_code == 302
    event = SecurityEvent.objects.get(user=bob.user, kind="second_factor_added")
    assert event.device_name == "Added by an admin"
    assert [m.subject for m in mail.outbox] == ["A second factor was added to your account"]
    assert mail.outbox[0].to == [bob.user.email]
