"""The stories through django-allauth's own views (run by tests/test_allauth.py).

Sign-in is allauth's form (``login``, ``password``), sign-out is allauth's
view, named ``account_logout``: Trustgate finds it without a setting.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.checks import run_checks

from tests.agents import FIREFOX_WINDOWS
from tests.conftest import browser, step_up
from trust.models import TrustedDevice

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
