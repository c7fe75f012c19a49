"""A second factor added or removed by any path (a shell, QuerySet.delete(), a
save that unconfirms it) is logged and alerted; removing one voids the trust
its codes created and ends the sessions it verified. Trustgate's own flows
log their change once, under their own kind."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import translation
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from otp_flow.models import BackupCodeDevice
from tests.agents import FIREFOX_WINDOWS, SAFARI_IPHONE
from tests.conftest import Authenticator, browser, sign_in, trusted_browser
from tests.passkey_authenticator import Authenticator as PasskeyAuthenticator
from tests.test_passkeys import add_passkey
from tests.test_sudo import verified_browser
from trust.models import SecurityEvent, TrustedDevice, TrustedSession

# The receivers act, and alerts go out, after the commit: these tests commit.
pytestmark = pytest.mark.django_db(transaction=True)

ADDED = "A second factor was added to your account"
REMOVED = "A second factor was removed from your account"


def subjects(account) -> list[str]:
    return [m.subject for m in mail.outbox if m.to == [account.user.email]]


def kinds(account) -> list[str]:
    return list(
        SecurityEvent.objects.filter(user=account.user)
        .order_by("pk")
        .values_list("kind", flat=True)
    )


def signed_out(client) -> bool:
    return client.get("/")["Location"].startswith("/accounts/login/")


def test_an_authenticator_added_from_the_shell_is_logged_and_alerted(make_user):
    account = make_user(totp=False)
    half = TOTPDevice.objects.create(user=account.user, name="Half-enrolled", confirmed=False)
    half.name = "Still half-enrolled"
    half.save()
    assert kinds(account) == [] and subjects(account) == []  # unconfirmed: nobody's factor

    TOTPDevice.objects.create(user=account.user, name="From the shell", confirmed=True)
    event = SecurityEvent.objects.get(user=account.user, kind="second_factor_added")
    assert event.device_name == "From the shell"
    assert event.reasons == ["otp_totp.totpdevice"]
    assert subjects(account) == [ADDED]

    half.confirmed = True  # confirmed later: added then
    half.save()
    half.name = "Renamed"  # saved again: nothing new
    half.save()
    assert kinds(account) == ["second_factor_added", "second_factor_added"]
    assert subjects(account) == [ADDED, ADDED]


def test_an_alert_without_the_users_request_is_in_the_sites_language(make_user):
    account = make_user(totp=False)
    with translation.override("de"):  # an administrator's German page, a shell's locale
        TOTPDevice.objects.create(user=account.user, name="From the admin", confirmed=True)
    assert subjects(account) == [ADDED]


def laptop_phone_tablet(account, clock):
    """Three sessions of ``account``: the laptop let in by trust its TOTP code
    created, the phone verified by a TOTP code (trusting nothing), the tablet
    verified by a backup code and trusting itself (trust the backup codes
    created)."""
    made = BackupCodeDevice.objects.create(user=account.user, name="Backup codes").replace_codes()
    laptop = trusted_browser(account, clock)
    sign_in(laptop, account)
    phone = browser(FIREFOX_WINDOWS)
    sign_in(phone, account)
    assert phone.post("/2fa/verify/", {"otp_token": account.code()}).status_code == 302
    tablet = browser(SAFARI_IPHONE)
    sign_in(tablet, account)
    verified = tablet.post("/2fa/verify/", {"otp_token": made[0], "trust_device": "on"})
    assert verified.status_code == 302
    for client in (laptop, phone, tablet):
        assert client.get("/").status_code == 200
    mail.outbox.clear()
    return laptop, phone, tablet


def mallory():
    return get_user_model().objects.get_or_create(username="mallory")[0]


REMOVALS = {
    "delete": lambda device: device.delete(),
    "queryset_delete": lambda device: type(device).objects.filter(pk=device.pk).delete(),
    "unconfirmed": lambda device: (setattr(device, "confirmed", False), device.save()),
    "moved": lambda device: (setattr(device, "user", mallory()), device.save()),
}


@pytest.mark.parametrize("remove", list(REMOVALS))
def test_an_authenticator_removed_from_the_shell_ends_what_it_verified(account, clock, remove):
    laptop, phone, tablet = laptop_phone_tablet(account, clock)
    laptop_trust = TrustedDevice.objects.get(user=account.user, browser="Chrome")
    tablet_trust = TrustedDevice.objects.get(user=account.user, browser="Mobile Safari")

    REMOVALS[remove](account.device)

    laptop_trust.refresh_from_db()
    assert laptop_trust.revoked_at is not None
    assert laptop_trust.revoked_reason == "authenticator_removed"
    assert signed_out(laptop)
    assert signed_out(phone)  # verified by a code from it, trusting nothing
    # Verified by the backup codes, which are still there: goes on.
    assert tablet.get("/").status_code == 200
    tablet_trust.refresh_from_db()
    assert tablet_trust.revoked_at is None
    event = SecurityEvent.objects.get(user=account.user, kind="second_factor_removed")
    assert event.device_name == "Authenticator" and event.reasons == ["otp_totp.totpdevice"]
    assert subjects(account) == [REMOVED]


def test_an_authenticator_given_to_another_user_is_added_to_theirs(account, make_user):
    bob = make_user("bob", totp=False)
    mail.outbox.clear()
    account.device.user = bob.user
    account.device.save()
    assert kinds(account)[-1] == "second_factor_removed" and subjects(account) == [REMOVED]
    assert kinds(bob) == ["second_factor_added"] and subjects(bob) == [ADDED]


def test_backup_codes_removed_end_only_what_they_verified(account, clock):
    laptop, phone, tablet = laptop_phone_tablet(account, clock)
    BackupCodeDevice.objects.filter(user=account.user).delete()
    assert signed_out(tablet)
    assert not TrustedDevice.objects.filter(
        user=account.user, browser="Mobile Safari", revoked_at__isnull=True
    ).exists()
    assert laptop.get("/").status_code == 200
    assert phone.get("/").status_code == 200
    event = SecurityEvent.objects.get(user=account.user, kind="second_factor_removed")
    assert event.reasons == ["otp_flow.backupcodedevice"]


def test_the_session_index_names_the_device_that_verified_each_session(account, clock):
    laptop_phone_tablet(account, clock)
    backup = BackupCodeDevice.objects.get(user=account.user)
    by_device = sorted(
        TrustedSession.objects.filter(user=account.user).values_list("otp_device", flat=True)
    )
    totp_id, backup_id = account.device.persistent_id, backup.persistent_id
    assert by_device == sorted([totp_id, totp_id, backup_id])


def test_a_user_deleted_with_their_second_factors(account, clock):
    laptop, phone, tablet = laptop_phone_tablet(account, clock)
    get_user_model().objects.filter(pk=account.user.pk).delete()
    assert not SecurityEvent.objects.exists()
    assert not TOTPDevice.objects.exists()
    for client in (laptop, phone, tablet):
        assert signed_out(client)


def test_trustgates_own_flows_log_their_change_once(make_user, clock):
    account = make_user(totp=False)
    client = browser()
    sign_in(client, account)
    app = Authenticator.from_page(client.get("/2fa/setup/"))
    assert client.post("/2fa/setup/", {"otp_token": "12"}).status_code == 200  # a typo first
    assert client.post("/2fa/setup/", {"otp_token": app.code()}).status_code == 200
    clock.shift(timedelta(seconds=31))
    new = Authenticator.from_page(client.get("/2fa/replace/"))
    assert client.post("/2fa/replace/", {"otp_token": new.code()}).status_code == 302
    clock.shift(timedelta(seconds=31))
    assert client.post("/2fa/backup-codes/").status_code == 200
    assert client.post("/2fa/disable/", {"otp_token": new.code()}).status_code == 200

    codes = {"step_up_passed", "step_up_failed"}
    logged = [kind for kind in kinds(account) if kind not in codes]
    assert logged == [
        "two_factor_enabled",
        "authenticator_replaced",
        "backup_codes_regenerated",
        "two_factor_disabled",
    ]
    assert ADDED not in subjects(account) and REMOVED not in subjects(account)
    assert client.get("/").status_code == 200  # the session that did it goes on


def test_passkeys_added_and_removed_on_their_page_are_logged_once(account, clock):
    client = verified_browser(account, clock)
    assert add_passkey(client, PasskeyAuthenticator()).status_code == 302
    passkey = WebAuthnCredential.objects.get(user=account.user)
    assert client.post(f"/2fa/passkeys/{passkey.pk}/remove/").status_code == 302
    logged = [kind for kind in kinds(account) if kind.startswith(("passkey", "second_factor"))]
    # The fixture's authenticator was added as a shell would: that one is logged.
    assert logged == ["second_factor_added", "passkey_added", "passkey_removed"]
    assert ADDED in subjects(account) and REMOVED not in subjects(account)
