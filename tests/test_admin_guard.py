"""The admin in sudo mode: a session let in by a trusted device entered no code,
so it changes no second factor, password, trusted device or security event
until it enters one (otp_flow.admin_site.SudoAdminSite)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from otp_flow.models import BackupCodeDevice
from tests.agents import FIREFOX_WINDOWS
from tests.conftest import browser, sign_in, trusted_browser
from trust.models import SecurityEvent, TrustedDevice

CHOSEN_KEY = "00112233445566778899aabbccddeeff00112233"  # the attacker's authenticator
NEW_PASSWORD = "the attacker's own passphrase 55"


def chosen_code(at: float | None = None) -> str:
    import time

    totp = TOTP(bytes.fromhex(CHOSEN_KEY), 30, 0, 6, 0)
    totp.time = time.time() if at is None else at
    return f"{totp.token():06d}"


@pytest.fixture
def staff(make_user):
    """A superuser with 2FA on."""
    return make_user("root", is_staff=True, is_superuser=True)


@pytest.fixture
def victim(staff, clock):
    """The staff user's trusted laptop, a backup-code set and a group: what an
    attacker holding the password and the laptop's cookies would go for."""
    laptop = trusted_browser(staff, clock)
    BackupCodeDevice.objects.create(user=staff.user, name="Backup codes").replace_codes()
    Group.objects.create(name="editors")
    return laptop


def trusted_admin(staff, laptop):
    """Signed in on the trusted laptop: password only, no code entered."""
    assert sign_in(laptop, staff).status_code == 302
    home = laptop.get("/admin/")
    assert home.status_code == 200
    assert home.wsgi_request.trust.method == "trusted_device"
    return laptop


def fresh_code(client, staff, next_url: str) -> None:
    response = client.post("/2fa/verify/", {"otp_token": staff.code(), "next": next_url})
    assert response.status_code == 302 and response["Location"] == next_url


def asked_for_code(response, path: str) -> bool:
    return response.status_code == 302 and response["Location"] == (
        f"/2fa/verify/?next={quote(path, safe='/')}"
    )


def snapshot(user):
    """Everything the attack would change."""
    user.refresh_from_db()
    return (
        sorted(TOTPDevice.objects.values_list("pk", "key", "confirmed")),
        sorted(BackupCodeDevice.objects.values_list("pk", flat=True)),
        sorted(get_user_model().objects.values_list("pk", "password")),
        sorted(TrustedDevice.objects.values_list("pk", "revoked_at")),
        sorted(SecurityEvent.objects.values_list("pk", flat=True)),
        sorted(Group.objects.values_list("pk", flat=True)),
    )


def credential_pages(staff):
    user = staff.user
    totp = staff.device.pk
    backup = BackupCodeDevice.objects.get(user=user).pk
    trusted = TrustedDevice.objects.get(user=user).pk
    event = SecurityEvent.objects.filter(user=user).first().pk
    pages = [
        "/admin/password_change/",
        "/admin/auth/user/",
        "/admin/auth/user/add/",
        f"/admin/auth/user/{user.pk}/change/",
        f"/admin/auth/user/{user.pk}/password/",
        f"/admin/auth/user/{user.pk}/delete/",
        f"/admin/auth/user/{user.pk}/history/",
        "/admin/otp_totp/totpdevice/",
        "/admin/otp_totp/totpdevice/add/",
        "/admin/otp_flow/backupcodedevice/",
        "/admin/trust/trusteddevice/",
        "/admin/trust/securityevent/",
    ]
    for base, pk in [
        ("/admin/otp_totp/totpdevice/", totp),
        ("/admin/otp_flow/backupcodedevice/", backup),
        ("/admin/trust/trusteddevice/", trusted),
        ("/admin/trust/securityevent/", event),
    ]:
        pages += [f"{base}{pk}/change/", f"{base}{pk}/delete/", f"{base}{pk}/history/"]
    return pages


def attack(staff):
    """The takeover, as (path, POST data): an authenticator of the attacker's
    own, the user's deleted, a new password; and covering the tracks."""
    user = staff.user
    totp = staff.device.pk
    backup = BackupCodeDevice.objects.get(user=user).pk
    trusted = TrustedDevice.objects.get(user=user).pk
    event = SecurityEvent.objects.filter(user=user).first().pk
    new_password = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    return [
        (
            "/admin/otp_totp/totpdevice/add/",
            {
                "user": user.pk,
                "name": "attacker",
                "confirmed": "on",
                "key": CHOSEN_KEY,
                "step": 30,
                "t0": 0,
                "digits": 6,
                "tolerance": 1,
                "drift": 0,
                "throttling_failure_count": 0,
            },
        ),
        (f"/admin/otp_totp/totpdevice/{totp}/delete/", {"post": "yes"}),
        (
            "/admin/otp_totp/totpdevice/",
            {"action": "delete_selected", "_selected_action": [totp], "post": "yes"},
        ),
        (f"/admin/otp_flow/backupcodedevice/{backup}/delete/", {"post": "yes"}),
        (f"/admin/auth/user/{user.pk}/password/", {**new_password, "usable_password": "true"}),
        (
            "/admin/password_change/",
            {
                "old_password": staff.password,
                "new_password1": NEW_PASSWORD,
                "new_password2": NEW_PASSWORD,
            },
        ),
        (
            "/admin/trust/trusteddevice/",
            {"action": "revoke_selected", "_selected_action": [trusted]},
        ),
        (f"/admin/trust/trusteddevice/{trusted}/delete/", {"post": "yes"}),
        (f"/admin/trust/securityevent/{event}/delete/", {"post": "yes"}),
        (
            "/admin/auth/user/add/",
            {"username": "sleeper", **new_password, "usable_password": "true"},
        ),
    ]


def test_a_trusted_device_session_is_asked_for_a_code_on_every_credential_page(
    staff, victim, clock
):
    admin = trusted_admin(staff, victim)
    for page in credential_pages(staff):
        assert asked_for_code(admin.get(page), page), page
    # The rest of the admin is the staff member's as before.
    for page in ["/admin/", "/admin/auth/", "/admin/jsi18n/"]:
        assert admin.get(page).status_code == 200, page


def test_the_takeover_through_the_admin_changes_nothing_without_a_code(staff, victim, clock):
    admin = trusted_admin(staff, victim)
    steps = attack(staff)
    before = snapshot(staff.user)
    for path, data in steps:
        assert asked_for_code(admin.post(path, data), path), path
    assert snapshot(staff.user) == before
    # And the password alone with the attacker's authenticator gets nowhere.
    thief = browser(FIREFOX_WINDOWS)
    staff.password = NEW_PASSWORD
    assert sign_in(thief, staff).status_code == 200  # the form again: wrong password


@pytest.mark.django_db(transaction=True)  # alerts go out after the commit
def test_after_a_fresh_code_the_same_admin_actions_work_and_are_logged(staff, victim, clock):
    admin = trusted_admin(staff, victim)
    add_path, add_data = attack(staff)[0]
    old = staff.device.pk
    assert asked_for_code(admin.get(add_path), add_path)
    fresh_code(admin, staff, add_path)
    clock.shift(timedelta(seconds=31))

    assert admin.post(add_path, add_data).status_code == 302
    added = TOTPDevice.objects.get(user=staff.user, name="attacker")
    assert added.confirmed and added.key == CHOSEN_KEY
    delete = f"/admin/otp_totp/totpdevice/{old}/delete/"
    assert admin.post(delete, {"post": "yes"}).status_code == 302
    assert not TOTPDevice.objects.filter(pk=old).exists()

    logged = SecurityEvent.objects.filter(user=staff.user)
    added_event = logged.get(kind="second_factor_added", device_name="attacker")
    assert added_event.reasons == ["otp_totp.totpdevice"]
    assert logged.get(kind="second_factor_removed").device_name == "Authenticator"
    subjects = [m.subject for m in mail.outbox if m.to == [staff.user.email]]
    assert "A second factor was added to your account" in subjects
    assert "A second factor was removed from your account" in subjects
    # The trust the removed authenticator's code created is void, and the
    # session it verified (this one, by the fresh code) has ended.
    assert not TrustedDevice.objects.filter(user=staff.user, revoked_at__isnull=True).exists()
    assert admin.get("/admin/")["Location"].startswith("/admin/login/")


def test_a_password_set_in_the_admin_after_a_fresh_code(staff, victim, make_user, clock):
    admin = trusted_admin(staff, victim)
    alice = make_user("alice")
    path = f"/admin/auth/user/{alice.user.pk}/password/"
    data = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}
    assert asked_for_code(admin.post(path, data), path)
    fresh_code(admin, staff, path)
    assert admin.post(path, data).status_code == 302
    alice.user.refresh_from_db()
    assert alice.user.check_password(NEW_PASSWORD)


def test_a_code_older_than_the_sudo_timeout_is_asked_again(staff, victim, clock):
    admin = trusted_admin(staff, victim)
    page = "/admin/otp_totp/totpdevice/add/"
    fresh_code(admin, staff, page)
    assert admin.get(page).status_code == 200
    clock.shift(timedelta(minutes=9))
    assert admin.get(page).status_code == 200
    clock.shift(timedelta(minutes=2))  # 11 minutes since the code
    assert asked_for_code(admin.get(page), page)
    assert asked_for_code(admin.get("/admin/password_change/"), "/admin/password_change/")


def test_a_session_that_entered_its_code_at_sign_in_is_asked_again_later(staff, clock):
    admin = browser(FIREFOX_WINDOWS)
    sign_in(admin, staff)
    assert admin.post("/2fa/verify/", {"otp_token": staff.code()}).status_code == 302
    page = "/admin/trust/trusteddevice/"
    assert admin.get(page).status_code == 200
    clock.shift(timedelta(minutes=11))
    assert asked_for_code(admin.get(page), page)


def harmless_entry(user):
    """A row of a model that holds no credential: the admin's own log."""
    from django.contrib.admin.models import CHANGE, LogEntry

    return LogEntry.objects.create(
        user=user,
        content_type=ContentType.objects.get_for_model(Group),
        object_id="1",
        object_repr="editors",
        action_flag=CHANGE,
        change_message="[]",
    )


def test_any_models_actions_and_delete_page_need_a_fresh_code_its_other_pages_do_not(
    staff, victim, clock, settings
):
    settings.ROOT_URLCONF = "tests.urls_own_admin_site"
    admin = trusted_admin(staff, victim)
    entry = harmless_entry(staff.user)
    base = "/harmless-admin/admin/logentry/"
    for page in [base, f"{base}add/", f"{base}{entry.pk}/change/", f"{base}{entry.pk}/history/"]:
        assert admin.get(page).status_code == 200, page
    # A delete cascades (onto credentials too, in some models), as
    # delete_selected does; an action does whatever its code does.
    delete = f"{base}{entry.pk}/delete/"
    assert asked_for_code(admin.get(delete), delete)
    assert asked_for_code(admin.post(delete, {"post": "yes"}), delete)
    for action in ["delete_selected", "do_nothing"]:
        data = {"action": action, "_selected_action": [entry.pk], "post": "yes"}
        assert asked_for_code(admin.post(base, data), base), action
    assert type(entry).objects.filter(pk=entry.pk).exists()
    # Views a site or a model admin adds, and URLs the admin has not: unknown, so they ask.
    for page in ["/harmless-admin/stats/", f"{base}summary/", "/harmless-admin/nowhere/"]:
        assert asked_for_code(admin.get(page), page), page
    fresh_code(admin, staff, delete)
    assert admin.post(delete, {"post": "yes"}).status_code == 302
    assert not type(entry).objects.filter(pk=entry.pk).exists()
    assert admin.get("/harmless-admin/stats/").content == b"a view of the site's own"


def test_a_site_adds_its_own_models(staff, victim, clock, settings):
    settings.ROOT_URLCONF = "tests.urls_own_admin_site"
    settings.OTP_FLOW_ADMIN_SUDO_MODELS = ["admin.LogEntry"]
    admin = trusted_admin(staff, victim)
    entry = harmless_entry(staff.user)
    base = "/harmless-admin/admin/logentry/"
    for page in [base, f"{base}{entry.pk}/change/"]:
        assert asked_for_code(admin.get(page), page), page


def test_signed_out_visitors_still_get_the_admin_login(db):
    page = "/admin/otp_totp/totpdevice/add/"
    response = browser().get(page)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={page}"


def test_a_staff_user_without_a_second_factor_has_no_code_to_give(make_user):
    account = make_user("operator", totp=False, is_staff=True, is_superuser=True)
    admin = browser()
    sign_in(admin, account)
    assert admin.get("/admin/otp_totp/totpdevice/add/").status_code == 200
    assert admin.get("/admin/password_change/").status_code == 200


def test_a_sites_own_admin_site_and_a_protected_model_shown_inline(staff, victim, settings):
    settings.ROOT_URLCONF = "tests.urls_own_admin_site"
    admin = trusted_admin(staff, victim)
    group_type = ContentType.objects.get_for_model(Group)
    # Its content types show permissions inline: asks.
    change = f"/own-admin/contenttypes/contenttype/{group_type.pk}/change/"
    assert asked_for_code(admin.get(change), change)
    # Without the inline (another site), the same page opens.
    plain = change.replace("/own-admin/", "/harmless-admin/")
    assert admin.get(plain).status_code == 200
    # There, a trusted device's content type shows its permissions inline: asks.
    device_type = ContentType.objects.get_for_model(TrustedDevice)
    per_object = f"/harmless-admin/contenttypes/contenttype/{device_type.pk}/change/"
    assert asked_for_code(admin.get(per_object), per_object)
    for pk in ["999999", "9" * 30, "x", "%2E%2E"]:
        missing = f"/harmless-admin/contenttypes/contenttype/{pk}/change/"
        response = admin.get(missing)
        assert response.status_code == 302, pk  # Django's "does not exist", to the index
        assert response["Location"] == "/harmless-admin/", pk
    # Mounted a second time, where the site cannot tell which model a page
    # is about: every page there asks.
    for page in ["/same-admin-elsewhere/", change.replace("/own-admin/", "/same-admin-elsewhere/")]:
        assert asked_for_code(admin.get(page), page), page


def test_passkeys_in_the_admin_are_shown_and_removed_only_after_a_fresh_code(
    staff, victim, clock, django_capture_on_commit_callbacks
):
    from django_otp_webauthn.models import WebAuthnCredential

    from tests.passkey_authenticator import Authenticator as Passkey
    from tests.test_passkeys import add_passkey

    # The staff user's own passkey, added from a session that entered a code.
    desk = browser()
    sign_in(desk, staff)
    fresh_code(desk, staff, "/")
    assert add_passkey(desk, Passkey(), name="Security key").status_code == 302
    passkey = WebAuthnCredential.objects.get(user=staff.user)

    laptop = trusted_admin(staff, victim)
    listing = "/admin/django_otp_webauthn/webauthncredential/"
    delete = f"{listing}{passkey.pk}/delete/"
    assert asked_for_code(laptop.get(listing), listing)
    assert asked_for_code(laptop.post(delete, {"post": "yes"}), delete)
    assert WebAuthnCredential.objects.filter(pk=passkey.pk).exists()

    clock.shift(timedelta(seconds=31))
    fresh_code(laptop, staff, listing)
    assert "Security key" in laptop.get(listing).content.decode()
    with django_capture_on_commit_callbacks(execute=True):  # the event is sent after commit
        assert laptop.post(delete, {"post": "yes"}).status_code == 302
    assert not WebAuthnCredential.objects.filter(pk=passkey.pk).exists()
    assert SecurityEvent.objects.filter(user=staff.user, kind="second_factor_removed").exists()
