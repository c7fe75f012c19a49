"""django-otp-webauthn's own views, on a site that mounts and exempts them.

Its authentication views verify a passkey and call ``django_otp.login()``:
in a session that owes a code, that passkey is the code, counted as on
Trustgate's own code page (the event, a new session key and CSRF token).
Its registration views are the other side (``tests/test_registration_is_not_the_code.py``).
"""

from __future__ import annotations

import json

import pytest
from django.conf import settings as django_settings
from django_otp_webauthn.models import WebAuthnCredential

from tests.agents import SAFARI_IPHONE
from tests.conftest import browser, sign_in
from tests.passkey_authenticator import Authenticator
from tests.test_passkeys import add_passkey
from tests.test_sudo import verified_browser
from trust.models import SecurityEvent, TrustedSession

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls_django_otp_webauthn")]

SESSION = django_settings.SESSION_COOKIE_NAME
CSRF = django_settings.CSRF_COOKIE_NAME


@pytest.fixture(autouse=True)
def _webauthn_exempt(settings):
    settings.TRUST_EXEMPT_URLS = ["/webauthn/"]


def authenticate_through_django_otp_webauthn(client, key: Authenticator):
    begin = client.post("/webauthn/authentication/begin/", content_type="application/json")
    assert begin.status_code == 200, begin.content
    answer = key.get(begin.json())
    return client.post(
        "/webauthn/authentication/complete/", json.dumps(answer), content_type="application/json"
    )


def test_a_passkey_on_django_otp_webauthns_own_view_pays_the_code_owed(account, clock):
    key = Authenticator()
    assert add_passkey(verified_browser(account, clock), key).status_code == 302
    passkey = WebAuthnCredential.objects.get(user=account.user)
    phone = browser(SAFARI_IPHONE)
    sign_in(phone, account)
    phone.get("/accounts/login/")  # a page with a form: the CSRF cookie is set
    assert phone.get("/", HTTP_ACCEPT="application/json").status_code == 401
    key_before, csrf_before = phone.cookies[SESSION].value, phone.cookies[CSRF].value

    assert authenticate_through_django_otp_webauthn(phone, key).status_code == 200

    assert phone.get("/", HTTP_ACCEPT="application/json").status_code == 200
    passed = SecurityEvent.objects.filter(user=account.user, kind="step_up_passed")
    assert passed.count() == 2  # the Firefox session's code, then this passkey
    # SECURITY: a new privilege level, a new session key and CSRF token.
    assert phone.cookies[SESSION].value != key_before
    assert phone.cookies[CSRF].value != csrf_before
    indexed = TrustedSession.objects.get(session_key=phone.cookies[SESSION].value)
    assert indexed.otp_device == passkey.persistent_id


def test_an_unknown_passkey_on_django_otp_webauthns_own_view_pays_nothing(account, clock):
    assert add_passkey(verified_browser(account, clock), Authenticator()).status_code == 302
    phone = browser(SAFARI_IPHONE)
    sign_in(phone, account)

    answer = authenticate_through_django_otp_webauthn(phone, Authenticator())

    assert answer.status_code >= 400
    assert phone.get("/", HTTP_ACCEPT="application/json").status_code == 401
    passed = SecurityEvent.objects.filter(user=account.user, kind="step_up_passed")
    assert passed.count() == 1  # the Firefox session's code alone
