from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.utils import translation
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from hypothesis import settings as hypothesis_settings

from tests.agents import CHROME_WINDOWS

# CI runs the same hypothesis examples every time (reproducible failures,
# no flakes); local runs keep exploring.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

PASSWORD = "correct horse battery staple 42"
START = datetime(2026, 6, 1, 12, 0, 5, tzinfo=UTC)  # 5 s into a TOTP step


def pytest_configure(config):
    """Each xdist worker keeps its own cache keys: parallel workers share one
    Redis, and the same usernames in each would share throttle counts,
    sessions and cached records. (Databases are per worker already:
    pytest-django suffixes their names with the worker's id.)"""
    from django.conf import settings

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        for cache in settings.CACHES.values():
            cache["KEY_PREFIX"] = f"{cache.get('KEY_PREFIX', '')}-{worker}"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """SQLite tests run on a file, not in memory: a live server's threads then
    get connections of their own, as in production (WAL, IMMEDIATE), instead
    of sharing the test's one in-memory connection."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        path = tmp_path_factory.mktemp("sqlite") / "test.sqlite3"
        database.setdefault("TEST", {})["NAME"] = str(path)


@pytest.fixture(autouse=True, scope="session")
def _admin_site_as_configured():
    """A test that installs more apps (``settings.INSTALLED_APPS = [...,
    "allauth.account"]``) re-runs the admin's autodiscovery, which registers
    those apps' models on ``admin.site`` for good; once the apps are gone
    again, every admin page of a later test fails on the unknown app label.
    Whatever the override registered, its end unregisters."""
    from django.apps import apps
    from django.contrib import admin
    from django.test.signals import setting_changed

    configured = {model for model in apps.get_models() if admin.site.is_registered(model)}
    added: list = []

    def forget_added_models(*, setting, enter, **kwargs):
        if setting != "INSTALLED_APPS":
            return
        if enter:
            added.extend(
                model
                for model in apps.get_models()
                if model not in configured and admin.site.is_registered(model)
            )
            return
        while added:
            model = added.pop()
            if admin.site.is_registered(model):
                admin.site.unregister(model)

    setting_changed.connect(forget_added_models)
    yield
    setting_changed.disconnect(forget_added_models)


@pytest.fixture
def unset(settings):
    """``unset("TRUST_X")``: the setting as a site that never set it.

    pytest-django's ``del settings.X`` sends no ``setting_changed`` (its
    ``__setattr__`` does), and ``trust.conf`` keeps each value until that
    signal, as DRF's ``api_settings`` does."""
    from django.core.signals import setting_changed

    def unset_setting(name: str) -> None:
        delattr(settings, name)
        setting_changed.send(sender=None, setting=name, value=None, enter=True)

    return unset_setting


@pytest.fixture(autouse=True)
def _site_language():
    """Each test starts in the site's language. A request in German leaves
    German active on the thread (LocaleMiddleware activates, nothing resets
    it), and under xdist any test may follow any other."""
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Signing in is most of what the tests do; PBKDF2 at full strength would
    # be most of their time. The flows do not depend on the hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_throttle_by_default(settings, request):
    """Tests of other things may switch django-otp's back-off off; tests
    marked ``throttling`` see it as configured."""
    if "throttling" not in request.keywords:
        settings.OTP_TOTP_THROTTLE_FACTOR = 0


@pytest.fixture
def clock(time_machine):
    """Time the tests move explicitly (TOTP steps, trust lifetimes), never sleep."""
    time_machine.move_to(START, tick=True)
    return time_machine


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (row locks)")


def totp_code(device: TOTPDevice, at: float | None = None) -> str:
    """The code an authenticator app would show for ``device`` at ``at``."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if at is None else at
    return f"{totp.token():0{device.digits}d}"


@dataclass
class Account:
    user: object
    password: str
    device: TOTPDevice | None

    def code(self, at: float | None = None) -> str:
        assert self.device is not None
        self.device.refresh_from_db()
        return totp_code(self.device, at)


@pytest.fixture
def make_user(db) -> Callable[..., Account]:
    counter = iter(range(1, 10_000))

    def make(username: str | None = None, *, totp: bool = True, **extra) -> Account:
        name = username or f"user{next(counter)}"
        user = get_user_model().objects.create_user(name, f"{name}@example.com", PASSWORD, **extra)
        device = (
            TOTPDevice.objects.create(user=user, name="Authenticator", confirmed=True)
            if totp
            else None
        )
        return Account(user, PASSWORD, device)

    return make


@pytest.fixture
def account(make_user) -> Account:
    """A user with 2FA on."""
    return make_user("alice")


def browser(user_agent: str = CHROME_WINDOWS, **extra) -> Client:
    """A fresh browser: its own cookie jar, its own user agent."""
    return Client(HTTP_USER_AGENT=user_agent, **extra)


def sign_in(client: Client, account: Account, next_url: str | None = None, **extra):
    data = {"username": account.user.get_username(), "password": account.password}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/accounts/login/", data, **extra)


def step_up(client: Client, account: Account, *, trust: bool = True, at=None, **fields):
    data = {"otp_token": account.code(at)}
    if trust:
        data["trust_device"] = "on"
    data.update(fields)
    return client.post("/2fa/verify/", data)


def trusted_browser(account: Account, clock, user_agent: str = CHROME_WINDOWS) -> Client:
    """A browser that signed in, passed a code and trusted itself, then signed out.

    Its next sign-in is a familiar browser's: the password alone.
    """
    client = browser(user_agent)
    sign_in(client, account)
    response = step_up(client, account, trust=True)
    assert response.status_code == 302
    client.post("/accounts/logout/")
    clock.shift(timedelta(seconds=31))  # a later sign-in sees a later TOTP step
    return client


@pytest.fixture
def trusted_client(account, clock) -> Client:
    """``account``'s trusted browser, signed in again with the password alone."""
    client = trusted_browser(account, clock)
    assert sign_in(client, account).status_code == 302
    assert client.get("/").status_code == 200
    return client


def csrf_client(user_agent: str = CHROME_WINDOWS) -> Client:
    return Client(enforce_csrf_checks=True, HTTP_USER_AGENT=user_agent)


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


@dataclass
class Authenticator:
    """An authenticator app that scanned a setup page: it knows only the page."""

    key: bytes

    @classmethod
    def from_page(cls, response) -> Authenticator:
        from base64 import b32decode
        from urllib.parse import parse_qs, urlsplit

        html = response.content.decode()
        match = re.search(r'href="(otpauth://totp/[^"]+)"', html)
        assert match, "no otpauth link on the page"
        query = parse_qs(urlsplit(match.group(1).replace("&amp;", "&")).query)
        return cls(b32decode(query["secret"][0]))

    def code(self, at: float | None = None) -> str:
        totp = TOTP(self.key, 30, 0, 6, 0)
        totp.time = time.time() if at is None else at
        return f"{totp.token():06d}"
