"""The stories through django-allauth's own views (run by tests/test_allauth.py).

Sign-in is allauth's form (``login``, ``password``), sign-out is allauth's
view, named ``account_logout``: Trustgate finds it without a setting.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.checks import run_checks

from tests.agents import FIREFOX_WINDOWS
from tests.conftest import START, browser, step_up
from trust.models import PasswordThrottle, TrustedDevice

pytestmark = pytest.mark.django_db

LOGOUT = "/accounts/logout/"


def sign_in(client, account):
    response = client.post(
        "/accounts/login/", {"login": account.user.get_username(), "password": account.password}
    )
    assert response.status_code == 302, response.content[:300]
    return response


def test_the_site_is_allauths():
    from django.urls import reverse

    assert reverse("account_login") == "/accounts/login/"
    assert reverse("account_logout") == LOGOUT


def test_no_trustgate_warnings_without_extra_settings():
    assert [m for m in run_checks() if m.id and m.id.startswith("trust.")] == []


def test_pending_session_signs_out_from_the_code_page(account):
    client = browser()
    signed_in = sign_in(client, account)
    assert signed_in["Location"].startswith("/2fa/verify/")

    page = client.get(signed_in["Location"])
    assert f'action="{LOGOUT}"' in page.content.decode()  # the Sign-out button
    signed_out = client.post(LOGOUT)
    assert signed_out.status_code == 302
    assert not signed_out["Location"].startswith("/2fa/verify/")
    assert client.get("/")["Location"].startswith("/accounts/login/")  # signed out


def test_step_up_trust_sign_out_sign_in_again_revoke(account, clock):
    laptop = browser()
    sign_in(laptop, account)
    assert laptop.get("/")["Location"].startswith("/2fa/verify/")
    assert step_up(laptop, account, trust=True).status_code == 302
    home = laptop.get("/")
    assert home.status_code == 200 and home.wsgi_request.trust.method == "otp"

    # Familiar browser: signed out by allauth, signed in again with no code.
    assert laptop.post(LOGOUT).status_code == 302
    assert laptop.get("/").status_code == 302
    clock.shift(timedelta(seconds=31))
    assert sign_in(laptop, account)["Location"] == "/"
    again = laptop.get("/")
    assert again.status_code == 200
    assert again.wsgi_request.trust.method == "trusted_device"

    # Another browser passes a code and revokes the laptop from the devices page.
    other = browser(FIREFOX_WINDOWS)
    sign_in(other, account)
    clock.shift(timedelta(seconds=31))
    assert step_up(other, account, trust=False).status_code == 302
    laptop_device = TrustedDevice.objects.get(user=account.user)
    page = other.get("/devices/").content.decode()
    assert re.search(rf'href="/devices/{laptop_device.pk}/revoke/"', page)  # to the confirmation
    confirm = other.get(f"/devices/{laptop_device.pk}/revoke/").content.decode()
    assert re.search(rf'action="/devices/{laptop_device.pk}/revoke/"', confirm)
    assert other.post(f"/devices/{laptop_device.pk}/revoke/").status_code == 302

    assert laptop.get("/")["Location"].startswith("/accounts/login/")  # signed out at once
    assert sign_in(laptop, account)["Location"].startswith("/2fa/verify/")  # a code again


def test_trustgates_pages_wear_allauths_layout(account, clock):
    """Both halves of a sign-in look like one site: the code page extends
    allauth's entrance layout, the devices page its manage layout (both
    allauth's base, which a site overrides once for all of them)."""
    client = browser()
    signed_in = sign_in(client, account)
    login_page = browser().get("/accounts/login/").content.decode()
    code_page = client.get(signed_in["Location"]).content.decode()
    assert "<strong>Menu:</strong>" in login_page  # allauth's own base
    assert "<strong>Menu:</strong>" in code_page and 'name="otp_token"' in code_page
    assert '<link rel="stylesheet" href="/static/trust/trustgate.css">' in code_page
    assert step_up(client, account, trust=True).status_code == 302
    devices = client.get("/devices/").content.decode()
    assert "<strong>Menu:</strong>" in devices and 'class="trustgate"' in devices


class CountingHasher(MD5PasswordHasher):
    """The tests' MD5 hasher, counting the passwords it compares."""

    compared = 0

    def verify(self, password, encoded):
        type(self).compared += 1
        return super().verify(password, encoded)


def answer(response, login: str) -> str:
    """allauth's page with what differs between any two answers blanked out."""
    html = response.content.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", html)
    return html.replace(login, "LOGIN")


@pytest.mark.throttling
def test_username_and_email_logins_spend_one_budget(account, clock, settings):
    """allauth signs in by username or by any of the account's addresses, in
    any case: wrong passwords through all of them spend the account's one
    budget (5 free failures), and the right one is then refused unchecked,
    answered exactly as a wrong password."""
    settings.ACCOUNT_LOGIN_METHODS = {"username", "email"}
    settings.ACCOUNT_RATE_LIMITS = False  # allauth's own limits aside: Trustgate's under test
    settings.PASSWORD_HASHERS = ["tests.allauth_site.stories.CountingHasher"]
    EmailAddress.objects.create(user=account.user, email="alice.work@example.com", verified=True)
    clock.move_to(START, tick=False)
    attacker = browser(REMOTE_ADDR="203.0.113.66")
    logins = [
        "alice",
        "ALICE@example.com",
        "alice.work@example.com",
        "Alice",
        "ALICE.WORK@EXAMPLE.COM",
    ]
    wrong = [
        attacker.post("/accounts/login/", {"login": login, "password": "wrong"}) for login in logins
    ]
    assert {response.status_code for response in wrong} == {200}
    checked = CountingHasher.compared
    assert checked >= 5  # every one was a real guess at alice's password

    for login, wrong_one in zip(logins[:3], wrong, strict=False):
        elsewhere = browser(REMOTE_ADDR="198.51.100.7")
        refused = elsewhere.post("/accounts/login/", {"login": login, "password": account.password})
        assert refused.status_code == 200
        assert answer(refused, login) == answer(wrong_one, login)  # as a wrong password
        assert "_auth_user_id" not in elsewhere.session
    assert CountingHasher.compared == checked  # refused unchecked
    [row] = PasswordThrottle.objects.filter(scope=PasswordThrottle.ACCOUNT)
    assert row.user_id == account.user.pk and row.failures == 5

    clock.shift(timedelta(seconds=2))  # the wait is over: any of its names works
    signed_in = browser(REMOTE_ADDR="198.51.100.7").post(
        "/accounts/login/", {"login": "ALICE.WORK@example.com", "password": account.password}
    )
    assert signed_in.status_code == 302 and signed_in["Location"].startswith("/2fa/verify/")
