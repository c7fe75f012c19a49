"""The admin: devices and events per user, revocation that ends sessions, no secrets shown."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model

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
