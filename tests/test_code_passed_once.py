"""A passed code is one transition of the session's record.

One POST of a right code with "trust this device" verifies the session and
trusts its browser: the record is saved once, the session index written
once (after the session key is rotated), and each device row read once.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_otp.plugins.otp_totp.models import TOTPDevice

from trust.models import SecurityEvent, TrustedDevice, TrustedSession
from trust.state import SessionState

from .conftest import Authenticator, browser, sign_in

pytestmark = pytest.mark.django_db


def _table(model) -> str:
    return model._meta.db_table


def _writes(queries, model) -> list[str]:
    table = _table(model)
    return [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE")) and table in q["sql"]
    ]


def _reads(queries, model) -> list[str]:
    table = _table(model)
    return [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().upper().startswith("SELECT") and f'FROM "{table}"' in q["sql"]
    ]


@pytest.fixture
def record_saves(monkeypatch) -> list[str]:
    """Each ``SessionState.save`` of the request, counted (the save still runs)."""
    saves: list[str] = []
    original = SessionState.save

    def counted(self, request):
        saves.append(self.status)
        return original(self, request)

    monkeypatch.setattr(SessionState, "save", counted)
    return saves


def test_a_passed_code_with_trust_saves_the_record_once_and_links_the_session_once(
    account, record_saves
):
    client = browser()
    assert sign_in(client, account).status_code == 302
    code = account.code()
    record_saves.clear()
    with CaptureQueriesContext(connection) as ctx:
        response = client.post("/2fa/verify/", {"otp_token": code, "trust_device": "on"})
    assert response.status_code == 302
    queries = ctx.captured_queries

    assert record_saves == ["otp"]
    assert len(_writes(queries, TrustedSession)) == 1
    # The django-otp device: read once, locked, for the check (which also
    # tells the page whether 2FA is still on), and no more by its persistent
    # id; the receiver that watches confirmations reads it when the accepted
    # code is saved (django-otp saves the whole row).
    assert len(_reads(queries, TOTPDevice)) == 2
    # The browser's trust is made, never read back.
    assert len(_reads(queries, TrustedDevice)) <= 1

    # What the transition leaves: a verified session, its browser trusted,
    # indexed once under the new key with both devices.
    session = client.session
    row = TrustedSession.objects.get(user=account.user)
    assert row.session_key == session.session_key
    device = TrustedDevice.objects.get(user=account.user)
    assert row.device_id == device.pk
    assert row.otp_device == account.device.persistent_id
    assert session["_trustgate"]["status"] == "otp"
    assert session["_trustgate"]["trusted_device"] == device.pk


def _post_once(client, url, data, record_saves, **extra):
    record_saves.clear()
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(url, data, **extra)
    return response, ctx.captured_queries


def test_a_passed_code_in_json_saves_the_record_once_and_links_the_session_once(
    account, record_saves
):
    client = browser()
    sign_in(client, account)
    response, queries = _post_once(
        client,
        "/2fa/verify/",
        {"otp_token": account.code(), "trust_device": "on"},
        record_saves,
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200 and response.json()["verified"] is True
    assert record_saves == ["otp"]
    assert len(_writes(queries, TrustedSession)) == 1
    assert TrustedDevice.objects.filter(user=account.user).count() == 1


def test_a_passed_code_without_trust_saves_once_and_trusts_nothing(account, record_saves):
    client = browser()
    sign_in(client, account)
    response, queries = _post_once(
        client, "/2fa/verify/", {"otp_token": account.code()}, record_saves
    )
    assert response.status_code == 302
    assert record_saves == ["otp"]
    assert len(_writes(queries, TrustedSession)) == 1
    assert _writes(queries, TrustedDevice) == []
    assert TrustedSession.objects.get(user=account.user).device_id is None


def test_a_passkey_step_up_is_the_same_one_transition(account, clock, record_saves):
    from tests.agents import SAFARI_IPHONE
    from tests.test_passkeys import add_passkey, passkey_step_up
    from tests.test_sudo import verified_browser

    from .passkey_authenticator import Authenticator

    key = Authenticator()
    assert add_passkey(verified_browser(account, clock), key).status_code == 302
    phone = browser(SAFARI_IPHONE)
    sign_in(phone, account)
    record_saves.clear()
    with CaptureQueriesContext(connection) as ctx:
        response = passkey_step_up(phone, key)
    assert response.status_code == 302
    # The options request saves nothing of the record; the verify saves it once.
    assert record_saves == ["otp"]
    assert len(_writes(ctx.captured_queries, TrustedSession)) == 1
    row = TrustedSession.objects.get(session_key=phone.session.session_key)
    assert row.device_id == TrustedDevice.objects.get(user=account.user).pk


def test_a_code_posted_after_the_factor_was_removed_lets_the_session_on_unlogged(account):
    """The check itself finds no device (it reads them once): nothing is owed any more."""
    client = browser()
    assert sign_in(client, account)["Location"].startswith("/2fa/verify/")
    code = account.code()
    TOTPDevice.objects.filter(user=account.user).delete()  # an admin removed it
    response = client.post("/2fa/verify/", {"otp_token": code, "next": "/devices/"})
    assert response.status_code == 302 and response["Location"] == "/devices/"
    assert client.session["_trustgate"]["status"] == "none"
    assert not SecurityEvent.objects.filter(user=account.user, kind="step_up_failed").exists()
    assert client.get("/").status_code == 200


def test_a_code_posted_after_the_factor_was_removed_answers_json(account):
    client = browser()
    sign_in(client, account)
    code = account.code()
    TOTPDevice.objects.filter(user=account.user).delete()
    response = client.post("/2fa/verify/", {"otp_token": code}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response.json() == {"verified": False, "next": "/"}


def test_enrolling_with_trust_saves_the_record_once_and_links_the_session_once(
    make_user, record_saves
):
    account = make_user(totp=False)
    client = browser()
    assert sign_in(client, account).status_code == 302
    app = Authenticator.from_page(client.get("/2fa/setup/"))
    record_saves.clear()
    with CaptureQueriesContext(connection) as ctx:
        response = client.post("/2fa/setup/", {"otp_token": app.code(), "trust_device": "on"})
    assert response.status_code == 200  # the backup codes, shown this once
    assert record_saves == ["otp"]
    assert len(_writes(ctx.captured_queries, TrustedSession)) == 1
    assert TrustedDevice.objects.filter(user=account.user, revoked_at=None).count() == 1
    assert SecurityEvent.objects.filter(user=account.user, kind="two_factor_enabled").exists()
