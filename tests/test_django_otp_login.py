"""``django_otp.login()`` anywhere in a session that owes a code verifies it.

django-otp's contract: ``django_otp.login(request, device)`` means the session
passed a second factor. A session that signed in with its password and owes
a code may pass it on django-otp's own two-step ``LoginView`` or on a site's
own page, in a later request: the code then counts as one given on
Trustgate's code page, with the same event and a new session key and CSRF
token. Only a confirmed device of the session's user counts.
"""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings as django_settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.asgi_client import AsyncBrowser
from tests.conftest import browser, sign_in
from trust.models import SecurityEvent, TrustedSession

pytestmark = pytest.mark.urls("tests.urls_django_otp")

SESSION = django_settings.SESSION_COOKIE_NAME
CSRF = django_settings.CSRF_COOKIE_NAME


@pytest.fixture(autouse=True)
def _reachable_while_a_code_is_owed(settings):
    # Pages a site lets a session owing its code reach (TRUST_EXEMPT_URLS).
    settings.TRUST_EXEMPT_URLS = [
        "/otp-login/",
        "/site-verify/",
        "/site-login-device/",
        "/site-record-device/",
    ]


def owing_a_code(account):
    """A browser signed in with its password on a new device: a code is owed."""
    client = browser()
    response = sign_in(client, account)
    assert response.status_code == 302 and response["Location"].startswith("/2fa/verify/")
    assert client.get("/otp-status/").status_code == 302
    client.get("/otp-login/")  # a page with a form: the CSRF cookie is set
    return client


def passed_codes(account) -> int:
    return SecurityEvent.objects.filter(user=account.user, kind="step_up_passed").count()


def assert_verified_as_on_the_code_page(client, account, key_before, csrf_before):
    status = client.get("/otp-status/")
    assert status.status_code == 200
    assert status.json()["verified"] is True
    assert status.json()["device"] == account.device.persistent_id
    assert client.get("/", HTTP_ACCEPT="application/json").status_code == 200
    assert passed_codes(account) == 1
    # SECURITY: a new privilege level, a new session key and CSRF token.
    assert client.cookies[SESSION].value != key_before
    assert client.cookies[CSRF].value != csrf_before
    # The session index follows the new key (revoking from anywhere ends it).
    (indexed,) = TrustedSession.objects.filter(user=account.user)
    assert indexed.session_key == client.cookies[SESSION].value
    assert indexed.otp_device == account.device.persistent_id


def test_django_otps_two_step_login_view_verifies_a_session_owing_a_code(clock, account):
    client = owing_a_code(account)
    key, csrf = client.cookies[SESSION].value, client.cookies[CSRF].value

    response = client.post(
        "/otp-login/",
        {"otp_device": account.device.persistent_id, "otp_token": account.code()},
    )

    assert response.status_code == 302, response.content
    assert_verified_as_on_the_code_page(client, account, key, csrf)


def test_a_sites_own_page_calling_django_otp_login_later_verifies_the_session(clock, account):
    client = owing_a_code(account)
    client.get("/elsewhere/")  # more requests of the session, still owing the code
    key, csrf = client.cookies[SESSION].value, client.cookies[CSRF].value

    response = client.post("/site-verify/", {"otp_token": account.code()})

    assert response.status_code == 200
    assert_verified_as_on_the_code_page(client, account, key, csrf)


def test_a_wrong_code_on_a_sites_page_verifies_nothing(clock, account):
    client = owing_a_code(account)
    assert client.post("/site-verify/", {"otp_token": "000000"}).status_code == 400
    assert client.get("/otp-status/").status_code == 302
    assert passed_codes(account) == 0


def _hostile_ids(account, make_user) -> dict[str, str]:
    bob = make_user("bob")
    unconfirmed = TOTPDevice.objects.create(user=account.user, name="new", confirmed=False)
    return {
        "another_users_device": bob.device.persistent_id,
        "unconfirmed_device": unconfirmed.persistent_id,
        "no_such_device": "otp_totp.totpdevice/0",
        "no_such_model": "otp_bogus.bogusdevice/0",
        "not_a_device_model": f"auth.user/{account.user.pk}",
        "not_an_id": "otp_totp.totpdevice/one",
        "garbage": "garbage",
        "dotted_garbage": "a.b.c.d",
    }


HOSTILE = [
    "another_users_device",
    "unconfirmed_device",
    "no_such_device",
    "no_such_model",
    "not_a_device_model",
    "not_an_id",
    "garbage",
    "dotted_garbage",
]


@pytest.mark.parametrize("path", ["/site-login-device/", "/site-record-device/"])
@pytest.mark.parametrize("case", HOSTILE)
def test_a_device_that_is_not_a_confirmed_one_of_the_user_verifies_nothing(
    account, make_user, clock, case, path
):
    device_id = _hostile_ids(account, make_user)[case]
    client = owing_a_code(account)

    response = client.post(path, {"otp_device_id": device_id})

    assert response.status_code == 200  # the site's page answered: no 500
    gated = client.get("/otp-status/")
    assert gated.status_code == 302 and gated["Location"].startswith("/2fa/verify/")
    assert passed_codes(account) == 0


def test_django_otp_login_later_verifies_the_session_under_asgi(clock, account):
    code = account.code()

    async def story():
        client = AsyncBrowser()
        signed_in = await sign_in(client, account)
        assert signed_in["Location"].startswith("/2fa/verify/")
        key = client.cookies[SESSION].value
        assert (await client.post("/site-verify/", {"otp_token": code})).status_code == 200
        status = await client.get("/aotp-status/")
        return key, client.cookies[SESSION].value, status

    key_before, key_after, status = async_to_sync(story)()
    assert status.status_code == 200 and status.json()["verified"] is True
    assert key_after != key_before
    assert passed_codes(account) == 1


@pytest.mark.parametrize("path", ["/site-login-device/", "/site-record-device/"])
def test_a_factor_added_while_the_code_is_owed_is_not_the_code(clock, account, path):
    """Whoever holds only the password adds a factor of their own (a shell, an
    admin, a registration view the site exempted) and hands it to
    ``django_otp.login()``: the code owed is still owed."""
    client = owing_a_code(account)
    clock.shift(5)
    planted = TOTPDevice.objects.create(user=account.user, name="planted", confirmed=True)

    client.post(path, {"otp_device_id": planted.persistent_id})

    gated = client.get("/otp-status/")
    assert gated.status_code == 302 and gated["Location"].startswith("/2fa/verify/")
    assert passed_codes(account) == 0
