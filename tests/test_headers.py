"""The trust cookie's attributes and the headers of the secret-bearing pages."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import browser, sign_in, step_up

pytestmark = pytest.mark.django_db(transaction=False)

REPO = Path(__file__).resolve().parent.parent


def trust_cookie_after_step_up(account, client):
    sign_in(client, account)
    response = step_up(client, account, trust=True)
    assert response.status_code == 302
    return response.cookies


def test_trust_cookie_on_http_is_httponly_lax_host_only(account):
    cookies = trust_cookie_after_step_up(account, browser())
    morsel = cookies["trustgate_token"]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    assert morsel["path"] == "/"
    assert morsel["domain"] == ""
    assert int(morsel["max-age"]) > 0
    assert "__Host-trustgate_token" not in cookies


def test_trust_cookie_on_https_is_secure_with_the_host_prefix(account, settings):
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    client = browser()
    sign_in(client, account, secure=True)
    response = client.post(
        "/2fa/verify/", {"otp_token": account.code(), "trust_device": "on"}, secure=True
    )
    assert response.status_code == 302
    assert "trustgate_token" not in response.cookies
    morsel = response.cookies["__Host-trustgate_token"]
    assert morsel["secure"] is True
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    assert morsel["path"] == "/"
    assert morsel["domain"] == ""

    # And it is the one read back on HTTPS: the next sign-in is trusted.
    client.post("/accounts/logout/", secure=True)
    sign_in(client, account, secure=True)
    assert client.get("/", secure=True).status_code == 200


def test_http_cookie_is_not_read_on_https(account):
    """A cookie set over plain HTTP (which an attacker on the network can
    plant) is not the one HTTPS requests read."""
    client = browser()
    trust_cookie_after_step_up(account, client)
    client.post("/accounts/logout/")
    sign_in(client, account, secure=True)
    assert client.get("/", secure=True).status_code == 302


def assert_sensitive(response):
    cache = response.get("Cache-Control", "")
    assert "no-store" in cache, cache
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_code_page_is_not_stored_or_framed(account):
    client = browser()
    sign_in(client, account)
    assert_sensitive(client.get("/2fa/verify/"))
    assert_sensitive(client.post("/2fa/verify/", {"otp_token": "000000"}))


def test_setup_page_is_not_stored_or_framed(make_user):
    account = make_user(totp=False)
    client = browser()
    sign_in(client, account)
    assert_sensitive(client.get("/2fa/setup/"))


def test_devices_page_is_not_stored_or_framed(account):
    client = browser()
    sign_in(client, account)
    step_up(client, account, trust=True)
    assert_sensitive(client.get("/devices/"))


def test_deploy_check_reports_nothing_with_production_settings():
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_HTTPS": "1",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50)[:50],
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = result.stdout + result.stderr
    assert "System check identified" in output, output  # it ran
    # Nothing from our apps (the demo's own settings are the demo's business:
    # Django 6.1 flags its console mailer, for one).
    assert "(trust." not in output and "(otp_flow." not in output, output


def test_dead_trust_cookie_is_deleted_with_the_same_attributes_on_https(account, clock):
    from datetime import timedelta

    from trust.models import TrustedDevice

    client = browser()
    sign_in(client, account, secure=True)
    client.post("/2fa/verify/", {"otp_token": account.code(), "trust_device": "on"}, secure=True)
    client.post("/accounts/logout/", secure=True)
    TrustedDevice.objects.update(revoked_at=TrustedDevice.objects.get().created_at)
    clock.shift(timedelta(seconds=31))

    response = sign_in(client, account, secure=True)  # decided during the sign-in
    morsel = response.cookies["__Host-trustgate_token"]
    assert morsel.value == "" and morsel["max-age"] == 0
    assert morsel["secure"] is True and morsel["path"] == "/" and morsel["domain"] == ""
