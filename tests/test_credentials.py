"""Trust is bound to the credentials: a new password ends all trust and other sessions."""

from __future__ import annotations

import re
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core import mail

from tests.agents import FIREFOX_WINDOWS, SAFARI_IPHONE
from tests.conftest import browser, sign_in, step_up, trusted_browser
from trust.models import SecurityEvent, TrustedDevice

NEW_PASSWORD = "an entirely new passphrase 77"


def live_devices(account):
    return TrustedDevice.objects.filter(user=account.user, revoked_at__isnull=True)


def two_trusted_sessions(account, clock):
    laptop = trusted_browser(account, clock)
    sign_in(laptop, account)
    assert laptop.get("/").status_code == 200
    phone = trusted_browser(account, clock, SAFARI_IPHONE)
    sign_in(phone, account)
    assert phone.get("/").status_code == 200
    assert live_devices(account).count() == 2
    return laptop, phone


def test_password_change_revokes_every_device_and_ends_other_sessions(account, clock):
    laptop, phone = two_trusted_sessions(account, clock)
    change = {
        "old_password": account.password,
        "new_password1": NEW_PASSWORD,
        "new_password2": NEW_PASSWORD,
    }
    # A session let in by a trusted device entered no code: sudo asks first.
    response = phone.post("/accounts/password/change/", change)
    assert response["Location"] == "/2fa/verify/?next=/accounts/password/change/"
    assert live_devices(account).count() == 2
    clock.shift(timedelta(seconds=31))
    assert phone.post("/2fa/verify/", {"otp_token": account.code()}).status_code == 302

    response = phone.post("/accounts/password/change/", change)
    assert response.status_code == 302
    assert not live_devices(account).exists()
    assert set(TrustedDevice.objects.values_list("revoked_reason", flat=True)) == {
        "password_changed"
    }
    assert laptop.get("/")["Location"].startswith("/accounts/login/")
    assert phone.get("/").status_code == 200  # this session goes on
    event = SecurityEvent.objects.get(user=account.user, kind="password_changed")
    assert (event.device_name, event.ip) == ("Safari on iPhone", "127.0.0.1")

    # The formerly trusted browser now owes a code.
    phone.post("/accounts/logout/")
    account.password = NEW_PASSWORD
    sign_in(phone, account)
    assert phone.get("/")["Location"].startswith("/2fa/verify/")


def test_password_reset_never_signs_in_and_revokes_everything(account, clock):
    laptop, phone = two_trusted_sessions(account, clock)
    stranger = browser(FIREFOX_WINDOWS)

    response = stranger.post("/accounts/password/reset/", {"email": account.user.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/password/reset/\S+/)", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    form_page = stranger.get(link.group(1), follow=True)
    assert form_page.status_code == 200
    set_password_url = form_page.redirect_chain[-1][0]
    response = stranger.post(
        set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/complete/"

    # Not signed in by the reset.
    assert stranger.get("/")["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in stranger.session
    # Every trusted device revoked, every session ended.
    assert not live_devices(account).exists()
    for client in (laptop, phone):
        assert client.get("/")["Location"].startswith("/accounts/login/")
    event = SecurityEvent.objects.get(user=account.user, kind="password_reset")
    assert event.device_name == "Firefox on Windows"
    assert not SecurityEvent.objects.filter(kind="password_changed").exists()

    # Signing in with the new password still asks for a code, even on a
    # browser that was trusted.
    account.password = NEW_PASSWORD
    sign_in(laptop, account)
    assert laptop.get("/")["Location"].startswith("/2fa/verify/")


def test_set_password_and_save_revokes_too(account, clock):
    laptop, _phone = two_trusted_sessions(account, clock)
    user = get_user_model().objects.get(pk=account.user.pk)
    user.set_password(NEW_PASSWORD)
    user.save()
    assert not live_devices(account).exists()
    assert laptop.get("/")["Location"].startswith("/accounts/login/")
    assert SecurityEvent.objects.filter(kind="password_changed").count() == 1


def test_set_unusable_password_revokes_too(account, clock):
    two_trusted_sessions(account, clock)
    user = get_user_model().objects.get(pk=account.user.pk)
    user.set_unusable_password()
    user.save(update_fields=["password"])
    assert not live_devices(account).exists()


def test_a_hash_assigned_by_hand_revokes_once_it_is_marked(account, clock):
    """``user.password = <hash>`` looks like a hash upgrade to any receiver:
    the documented call says it is a new password."""
    from django.contrib.auth.hashers import make_password

    from trust.receivers import mark_password_change

    laptop, _phone = two_trusted_sessions(account, clock)
    user = get_user_model().objects.get(pk=account.user.pk)
    mark_password_change(user)
    user.password = make_password(NEW_PASSWORD)
    user.save()
    assert not live_devices(account).exists()
    assert laptop.get("/")["Location"].startswith("/accounts/login/")
    assert SecurityEvent.objects.filter(kind="password_changed").count() == 1


def test_a_queryset_update_revokes_with_the_documented_call(account, clock):
    from django.contrib.auth.hashers import make_password

    from trust.flows import password_changed

    laptop, phone = two_trusted_sessions(account, clock)
    users = get_user_model().objects.filter(pk=account.user.pk)
    users.update(password=make_password(NEW_PASSWORD))  # sends no signal
    password_changed(users.get())
    assert not live_devices(account).exists()
    for each in (laptop, phone):
        assert each.get("/")["Location"].startswith("/accounts/login/")
    assert SecurityEvent.objects.filter(kind="password_changed").count() == 1


def test_saving_the_user_without_a_new_password_changes_nothing(account, clock):
    laptop, _ = two_trusted_sessions(account, clock)
    user = get_user_model().objects.get(pk=account.user.pk)
    user.first_name = "Alice"
    user.save()
    user.save(update_fields=["last_login"])
    assert live_devices(account).count() == 2
    assert laptop.get("/").status_code == 200
    assert not SecurityEvent.objects.filter(kind="password_changed").exists()


def test_hash_upgrade_at_sign_in_is_not_a_password_change(account, clock, settings):
    laptop = trusted_browser(account, clock)
    old_hash = get_user_model().objects.get(pk=account.user.pk).password
    assert old_hash.startswith("md5$")
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    sign_in(laptop, account)
    assert get_user_model().objects.get(pk=account.user.pk).password.startswith("pbkdf2")
    assert laptop.get("/").status_code == 200
    assert live_devices(account).count() == 1


def test_pending_step_up_expires_and_signs_the_session_out(account, clock):
    client = browser()
    sign_in(client, account)
    # The step-up is owed from the session's first request (the login's redirect).
    assert client.get("/")["Location"].startswith("/2fa/verify/")
    key = client.session.session_key
    clock.shift(timedelta(minutes=9, seconds=50))
    assert client.get("/")["Location"].startswith("/2fa/verify/")  # still owed

    clock.shift(timedelta(seconds=11))
    response = client.get("/2fa/verify/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not Session.objects.filter(session_key=key).exists()
    # A code now changes nothing: the half-signed-in session is gone.
    response = client.post("/2fa/verify/", {"otp_token": account.code()})
    assert response["Location"].startswith("/accounts/login/")
    assert client.get("/")["Location"].startswith("/accounts/login/")


def test_pending_timeout_is_a_setting(account, clock, settings):
    settings.TRUST_PENDING_TIMEOUT = timedelta(minutes=2)
    client = browser()
    sign_in(client, account)
    client.get("/")
    clock.shift(timedelta(minutes=2, seconds=1))
    assert client.get("/")["Location"].startswith("/accounts/login/")


def test_signing_out_wipes_a_pending_step_up_and_its_code_page(account):
    client = browser()
    sign_in(client, account)
    client.post("/accounts/logout/")
    # The code page no longer knows who it would check a code for.
    response = client.post("/2fa/verify/", {"otp_token": account.code()})
    assert response["Location"].startswith("/accounts/login/")
    assert not client.session.get("_trustgate")
    assert client.get("/")["Location"].startswith("/accounts/login/")


def test_a_verified_session_is_not_timed_out_by_the_pending_limit(account, clock):
    client = browser()
    sign_in(client, account)
    step_up(client, account, trust=False)
    clock.shift(timedelta(minutes=30))
    assert client.get("/").status_code == 200


def test_djangos_own_password_change_view_works_unmarked(account, clock, settings):
    settings.ROOT_URLCONF = "tests.urls_django_password"
    laptop, phone = two_trusted_sessions(account, clock)
    response = phone.post(
        "/plain/password/change/",
        {
            "old_password": account.password,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert not live_devices(account).exists()
    assert laptop.get("/")["Location"].startswith("/accounts/login/")
    assert phone.get("/").status_code == 200


def test_deactivating_an_account_revokes_trust_and_ends_its_sessions(account, clock):
    from tests.conftest import trusted_browser
    from trust.models import TrustedDevice

    client = trusted_browser(account, clock)
    sign_in(client, account)
    assert client.get("/").status_code == 200
    account.user.is_active = False
    account.user.save()

    assert TrustedDevice.objects.get(user=account.user).revoked_reason == "account_deactivated"
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
