"""Theft-evident device cookies: a secret a rotation replaced must never come back.

Each trusted sign-in gives the device a new secret. A copy of the cookie
made before that sign-in then holds a superseded secret: whichever of the
two browsers comes second gives the copy away, and the device is revoked.
(The seconds right after a rotation, when the same kind of browser on the
same network may be the rotating browser's own double submit, are
``tests/test_double_submit.py``'s: the copies here come later.)
"""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module

import pytest
from django.conf import settings as django_settings

from tests.agents import CHROME_WINDOWS
from tests.conftest import browser, sign_in, step_up
from trust.flows.rotation import GRACE
from trust.models import SecurityEvent, SupersededToken, TrustedDevice

pytestmark = pytest.mark.django_db(transaction=False)

COOKIE = "trustgate_token"


def trusted_browser(account, clock, user_agent=CHROME_WINDOWS):
    client = browser(user_agent)
    sign_in(client, account)
    assert step_up(client, account, trust=True).status_code == 302
    client.post("/accounts/logout/")
    clock.shift(timedelta(seconds=31))
    return client


def copy_of(client, user_agent=CHROME_WINDOWS):
    """Another browser holding a copy of ``client``'s device cookie (same kind of browser)."""
    thief = browser(user_agent)
    thief.cookies[COOKIE] = client.cookies[COOKIE].value
    return thief


def json_get(client, path="/"):
    return client.get(path, HTTP_ACCEPT="application/json")


def test_old_secret_presented_after_the_owner_signed_in_revokes_the_device(account, clock):
    owner = trusted_browser(account, clock)
    thief = copy_of(owner)  # copied while it was still current

    sign_in(owner, account)
    assert owner.get("/").status_code == 200  # trusted: the secret rotates
    assert owner.cookies[COOKIE].value != thief.cookies[COOKIE].value
    device = TrustedDevice.objects.get(user=account.user)
    clock.shift(GRACE + timedelta(seconds=1))

    sign_in(thief, account)
    response = json_get(thief)
    assert response.status_code == 401
    assert response.json()["reasons"] == ["stale_token"]

    device.refresh_from_db()
    assert device.revoked_at is not None and device.revoked_reason == "stale_token"
    # The sessions the device let in end too: the owner signs in again with a code.
    assert owner.get("/").status_code == 302
    event = SecurityEvent.objects.get(user=account.user, kind="copied_cookie_suspected")
    assert event.reasons == ["stale_token"]
    assert SecurityEvent.objects.filter(
        user=account.user, kind="device_revoked", reasons=["stale_token"]
    ).exists()
    # The superseded secrets are forgotten with the revoked device, and the
    # stale secret leaves the thief's cookie.
    assert not SupersededToken.objects.filter(device=device).exists()
    assert thief.cookies[COOKIE].value == ""


def test_thief_signing_in_first_is_caught_when_the_owner_comes_back(account, clock):
    owner = trusted_browser(account, clock)
    thief = copy_of(owner)

    sign_in(thief, account)
    assert thief.get("/").status_code == 200  # the copy works once, and rotates
    clock.shift(GRACE + timedelta(seconds=1))
    sign_in(owner, account)
    response = json_get(owner)
    assert response.status_code == 401 and response.json()["reasons"] == ["stale_token"]

    # The thief's session is over at its next request.
    response = thief.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert TrustedDevice.objects.get(user=account.user).revoked_reason == "stale_token"

    # The owner enters a code and is trusted afresh.
    assert step_up(owner, account, trust=True).status_code == 302
    assert TrustedDevice.objects.filter(user=account.user, revoked_at__isnull=True).count() == 1


def test_rotation_keeps_the_old_hash_only_and_each_sign_in_rotates(account, clock):
    owner = trusted_browser(account, clock)
    secrets_seen = [owner.cookies[COOKIE].value]
    for _ in range(3):
        sign_in(owner, account)
        assert owner.get("/").status_code == 200
        secrets_seen.append(owner.cookies[COOKIE].value)
        owner.post("/accounts/logout/")
    assert len(set(secrets_seen)) == 4
    device = TrustedDevice.objects.get(user=account.user)
    stored = set(SupersededToken.objects.filter(device=device).values_list("token_hash", flat=True))
    assert len(stored) == 3
    for secret in secrets_seen:
        assert secret not in stored  # hashes only, never the secret


def test_revoked_secret_presented_is_recorded_and_dropped(account, clock):
    laptop = trusted_browser(account, clock)
    device = TrustedDevice.objects.get(user=account.user)
    phone = browser()
    sign_in(phone, account)
    step_up(phone, account, trust=False)
    assert phone.post(f"/devices/{device.pk}/revoke/").status_code == 302

    sign_in(laptop, account)
    response = json_get(laptop)
    assert response.status_code == 401 and response.json()["reasons"] == ["revoked_token"]
    event = SecurityEvent.objects.get(user=account.user, kind="trust_refused")
    assert event.reasons == ["revoked_token"]
    assert not SecurityEvent.objects.filter(kind="copied_cookie_suspected").exists()
    assert laptop.cookies[COOKIE].value == ""


def test_expired_secret_presented_is_recorded(account, clock):
    laptop = trusted_browser(account, clock)
    clock.shift(timedelta(days=31))

    sign_in(laptop, account)
    response = json_get(laptop)
    assert response.status_code == 401 and response.json()["reasons"] == ["expired"]
    event = SecurityEvent.objects.get(user=account.user, kind="trust_refused")
    assert event.reasons == ["expired"]


def test_two_users_on_one_browser_keep_separate_trust(account, make_user, clock):
    bob = make_user("bob")
    shared = trusted_browser(account, clock)
    sign_in(shared, bob)
    step_up(shared, bob, trust=True)
    shared.post("/accounts/logout/")
    clock.shift(timedelta(seconds=31))
    assert len(shared.cookies[COOKIE].value.split(".")) == 2

    for _ in range(2):
        for person in (account, bob, account):
            sign_in(shared, person)
            assert shared.get("/").status_code == 200, person.user
            shared.post("/accounts/logout/")
    assert not TrustedDevice.objects.filter(revoked_at__isnull=False).exists()
    assert not SecurityEvent.objects.filter(kind="copied_cookie_suspected").exists()

    # Bob's stale secret does not touch Alice's trust, nor the other way round.
    bob_device = TrustedDevice.objects.get(user=bob.user)
    thief = copy_of(shared)
    sign_in(shared, bob)
    shared.get("/")
    clock.shift(GRACE + timedelta(seconds=1))
    sign_in(thief, bob)
    assert json_get(thief).json()["reasons"] == ["stale_token"]
    bob_device.refresh_from_db()
    assert bob_device.revoked_reason == "stale_token"
    assert TrustedDevice.objects.get(user=account.user).revoked_at is None


def _session_store():
    return import_module(django_settings.SESSION_ENGINE).SessionStore


def test_benign_race_of_one_browser_right_after_sign_in_revokes_nothing(account, clock):
    """The same session presents the secret its own sign-in just replaced.

    The sign-in decides (and rotates) in its own response, so a browser has
    nothing to race with; this replays the one order left: a request that
    read the session before the decision was saved, carrying the old secret,
    and arriving later than a double submit would.
    """
    client = trusted_browser(account, clock)
    old_secret = client.cookies[COOKIE].value
    assert sign_in(client, account).status_code == 302  # decides and rotates
    key = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    store = _session_store()(session_key=key)
    undecided = {k: v for k, v in store.load().items() if k != "_trustgate"}
    store.clear()
    store.update(undecided)  # what the late request had loaded
    store.save()
    client.cookies[COOKIE] = old_secret
    clock.shift(GRACE + timedelta(seconds=1))

    response = json_get(client)
    # Fail closed: the late request is not let in on a spent secret...
    assert response.status_code == 401 and response.json()["reasons"] == ["stale_token"]
    # ...and leaves the cookie alone: the winner's response set the new one.
    assert COOKIE not in response.cookies
    # ...but the same session is no thief: nothing is revoked or alerted.
    assert TrustedDevice.objects.get(user=account.user).revoked_at is None
    assert not SecurityEvent.objects.filter(kind="copied_cookie_suspected").exists()


def test_old_secret_of_an_expired_device_is_only_recorded_as_expired(account, clock):
    owner = trusted_browser(account, clock)
    thief = copy_of(owner)
    sign_in(owner, account)
    assert owner.get("/").status_code == 200
    clock.shift(timedelta(days=31))

    sign_in(thief, account)
    response = json_get(thief)
    assert response.status_code == 401 and response.json()["reasons"] == ["expired"]
    assert not SecurityEvent.objects.filter(kind="copied_cookie_suspected").exists()
    assert SecurityEvent.objects.get(kind="trust_refused").reasons == ["expired"]
    assert not SupersededToken.objects.exists()
    assert TrustedDevice.objects.get(user=account.user).revoked_at is None


def test_superseded_records_of_expired_devices_are_pruned_on_rotation(account, clock):
    laptop = trusted_browser(account, clock)
    sign_in(laptop, account)
    laptop.get("/")  # one superseded record for the laptop
    laptop.post("/accounts/logout/")
    clock.shift(timedelta(days=20))
    phone = trusted_browser(
        account, clock, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X)"
    )
    clock.shift(timedelta(days=11))  # the laptop's trust is over, the phone's is not

    sign_in(phone, account)
    assert phone.get("/").status_code == 200  # rotates the phone, prunes the laptop
    laptop_device = TrustedDevice.objects.get(user=account.user, browser="Chrome")
    assert not SupersededToken.objects.filter(device=laptop_device).exists()
    assert SupersededToken.objects.filter(device__user=account.user).count() == 1
