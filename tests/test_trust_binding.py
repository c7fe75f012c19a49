"""Trust is bound to the factor and the browser that earned it, and to nothing else."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.agents import CHROME_WINDOWS, FIREFOX_WINDOWS, SAFARI_IPHONE
from tests.conftest import browser, sign_in, step_up, trusted_browser
from trust import flows, signals
from trust.models import TrustedDevice


def json_get(client, path="/"):
    return client.get(path, HTTP_ACCEPT="application/json")


def test_trust_made_with_a_removed_authenticator_is_void(account, clock):
    client = trusted_browser(account, clock)
    TOTPDevice.objects.filter(user=account.user).delete()
    TOTPDevice.objects.create(user=account.user, name="new phone", confirmed=True)

    sign_in(client, account)
    response = json_get(client)
    assert response.status_code == 401
    assert response.json()["reasons"] == ["authenticator_removed"]
    device = TrustedDevice.objects.get(user=account.user)
    assert device.revoked_reason == "authenticator_removed"


def test_copied_cookie_cannot_retry_until_an_agent_fits(account, clock):
    original = trusted_browser(account, clock, CHROME_WINDOWS)
    for agent in (SAFARI_IPHONE, FIREFOX_WINDOWS, CHROME_WINDOWS):
        thief = browser(agent)
        thief.cookies = original.cookies
        sign_in(thief, account)
        assert json_get(thief).status_code == 401, agent
        thief.post("/accounts/logout/")
    device = TrustedDevice.objects.get(user=account.user)
    assert device.revoked_reason == "fingerprint_mismatch"


@pytest.mark.parametrize("agent", ["", "x", "\x00\x00", "zzz"])
def test_an_unknown_device_is_never_recognized(account, clock, agent):
    client = trusted_browser(account, clock, agent)
    sign_in(client, account)
    response = json_get(client)
    assert response.status_code == 401
    assert response.json()["reasons"] in (["unknown_device"], ["new_device"])


def test_an_unknown_device_is_never_trusted(account):
    client = browser("")
    sign_in(client, account)
    response = step_up(client, account, trust=True)
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # the code itself counts
    assert not TrustedDevice.objects.filter(revoked_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_revoke_landing_between_admission_and_session_index_still_ends_the_session(account, clock):
    """A revoke that runs while a trusted sign-in is being admitted."""
    client = trusted_browser(account, clock)
    device = TrustedDevice.objects.get(user=account.user)

    def revoke_now(sender, event, **kwargs):
        if event.kind == "signed_in_trusted_device":
            flows.revoke(TrustedDevice.objects.get(pk=device.pk), reason="revoked_by_user")

    signals.security_event.connect(revoke_now, dispatch_uid="test-revoke-race")
    try:
        sign_in(client, account)
    finally:
        signals.security_event.disconnect(dispatch_uid="test-revoke-race")
    device.refresh_from_db()
    assert device.revoked_at is not None
    assert client.get("/devices/").status_code == 302


def test_lapsed_trust_ends_the_session_it_let_in(account, clock):
    client = trusted_browser(account, clock)
    sign_in(client, account)
    assert client.get("/").wsgi_request.trust.method == "trusted_device"
    device = TrustedDevice.objects.get(user=account.user)
    # The session keeps going (one request every 11 hours) past the trust's end.
    TrustedDevice.objects.filter(pk=device.pk).update(
        expires_at=device.created_at + timedelta(hours=12)
    )
    clock.shift(timedelta(hours=11))
    assert client.get("/").status_code == 200
    clock.shift(timedelta(hours=11))
    response = json_get(client)
    assert response.status_code == 401
    assert response.json()["reasons"] == ["expired"]
