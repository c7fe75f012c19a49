"""A session that owes a code and registers a new factor has not given the code.

django-otp-webauthn's own registration view calls ``django_otp.login()``
with the passkey it just made. On a site that mounts its URLs and lets a
pending session reach them, that call must not count as the code owed:
neither the e-mailed code of a user without 2FA (whoever has the password
would otherwise skip it and plant their own passkey as the account's second
factor), nor the code of a user with 2FA (django-otp-webauthn refuses that
one itself).
"""

from __future__ import annotations

import json

import pytest
from django_otp_webauthn.models import WebAuthnCredential

from tests.conftest import browser, sign_in
from tests.passkey_authenticator import Authenticator
from tests.test_risk_sign_in import JP, at, history_at_home, json_reasons
from trust.models import SecurityEvent

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls_django_otp_webauthn")]


@pytest.fixture(autouse=True)
def _behind_a_proxy_with_webauthn_exempt(settings):
    settings.TRUST_PROXY_COUNT = 1
    settings.TRUST_PROXY_NETWORKS = ["127.0.0.1/32"]
    settings.TRUST_EXEMPT_URLS = ["/webauthn/"]


def register_through_django_otp_webauthn(client):
    begin = client.post("/webauthn/registration/begin/", content_type="application/json")
    assert begin.status_code == 200, begin.content
    answer = Authenticator().create(begin.json())
    return client.post(
        "/webauthn/registration/complete/", json.dumps(answer), content_type="application/json"
    )


def test_a_passkey_registered_while_an_emailed_code_is_owed_is_not_the_code(
    make_user, clock, mailoutbox
):
    carol = make_user("carol", totp=False)
    history_at_home(carol, clock)
    thief = at(browser(), JP)  # carol's password, not her mailbox
    sign_in(thief, carol)
    assert "new_asn" in json_reasons(thief)  # owes the e-mailed code

    register_through_django_otp_webauthn(thief)

    owed = thief.get("/", HTTP_ACCEPT="application/json")
    assert owed.status_code == 401 and owed.json()["error"] == "step_up_required"
    kinds = set(SecurityEvent.objects.filter(user=carol.user).values_list("kind", flat=True))
    assert "step_up_passed" not in kinds


def test_a_passkey_registration_while_a_totp_code_is_owed_changes_nothing(account, clock):
    thief = browser()
    sign_in(thief, account)
    begin = thief.post("/webauthn/registration/begin/", content_type="application/json")
    assert begin.status_code == 403  # django-otp-webauthn: the user is enrolled, not verified
    assert thief.get("/", HTTP_ACCEPT="application/json").status_code == 401
    assert not WebAuthnCredential.objects.filter(user=account.user).exists()
