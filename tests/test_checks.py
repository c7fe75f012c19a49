"""System checks: one test per id."""

from __future__ import annotations

import subprocess
from datetime import timedelta

import pytest
from django.core.checks import run_checks

from tests.processes import PYTHON, REPO, site_env
from trust import checks
from trust.backends import ModelBackend, PasswordThrottleBackend
from trust.middleware import TrustMiddleware

AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"
TRUST = "trust.middleware.TrustMiddleware"
OTP = "django_otp.middleware.OTPMiddleware"
SESSIONS = "django.contrib.sessions.middleware.SessionMiddleware"


class MyTrust(TrustMiddleware):
    pass


def ids(messages):
    return [m.id for m in messages]


def test_clean_settings_pass(settings):
    assert [m for m in run_checks() if m.id and m.id.startswith("trust.")] == []


def test_e001_middleware_missing(settings):
    settings.MIDDLEWARE = [SESSIONS, AUTH]
    assert ids(checks.check_middleware()) == ["trust.E001"]


def test_e002_middleware_before_authentication(settings):
    settings.MIDDLEWARE = [SESSIONS, TRUST, AUTH]
    assert ids(checks.check_middleware()) == ["trust.E002"]


def test_e002_counts_subclasses(settings):
    settings.MIDDLEWARE = [SESSIONS, "tests.test_checks.MyTrust", AUTH]
    assert ids(checks.check_middleware()) == ["trust.E002"]


def test_w001_redundant_otp_middleware(settings):
    settings.MIDDLEWARE = [SESSIONS, AUTH, OTP, TRUST]
    messages = checks.check_middleware()
    assert ids(messages) == ["trust.W001"]
    assert "every request" not in messages[0].msg  # django-otp's middleware is lazy


def test_e003_signed_cookie_sessions(settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    assert ids(checks.check_sessions()) == ["trust.E003"]


def test_w002_networks_without_count(settings):
    settings.TRUST_PROXY_COUNT = 0
    settings.TRUST_PROXY_NETWORKS = ["10.0.0.0/8"]
    assert ids(checks.check_proxies()) == ["trust.W002"]


def test_w004_count_without_networks(settings):
    settings.TRUST_PROXY_COUNT = 1
    settings.TRUST_PROXY_NETWORKS = []
    assert ids(checks.check_proxies()) == ["trust.W004"]
    settings.TRUST_PROXY_NETWORKS = ["10.0.0.0/8"]
    assert checks.check_proxies() == []


_W005_WITHOUT_PYJWT = """
import sys
sys.modules["jwt"] = None  # the "dbsc" extra not installed: "import jwt" fails
import django
from django.conf import settings
from django.core.checks import run_checks
django.setup()
for secure in (False, True):
    settings.SESSION_COOKIE_SECURE = secure
    found = {m.id for m in run_checks(include_deployment_checks=True) if m.id}
    print(secure, "trust.W005" in found)
print("without --deploy", "trust.W005" in {m.id for m in run_checks() if m.id})
"""


def test_w005_an_https_site_without_the_dbsc_extra_is_told_on_deploy():
    # A child process: the suite's own interpreter has PyJWT imported.
    env = site_env(DJANGO_SETTINGS_MODULE="project.settings")
    result = subprocess.run(
        [PYTHON, "-c", _W005_WITHOUT_PYJWT],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.split("\n")[-4:] == [
        "False False",
        "True True",
        "without --deploy False",
        "",
    ]


def test_w005_is_quiet_with_the_extra_or_without_https(settings):
    settings.SESSION_COOKIE_SECURE = True
    assert checks.check_device_binding() == []  # the suite installs every extra
    assert "trust.W005" not in ids(run_checks(include_deployment_checks=True))
    settings.SESSION_COOKIE_SECURE = False
    assert checks.check_device_binding() == []


def test_e010_djangos_cached_db_sessions(settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    assert ids(checks.check_sessions()) == ["trust.E010"]


def test_e011_cache_only_sessions(settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    assert ids(checks.check_sessions()) == ["trust.E011"]


@pytest.mark.parametrize(
    "engine",
    [
        "trust.session_backends.cached_db",
        "django.contrib.sessions.backends.db",
        "django.contrib.sessions.backends.file",
    ],
)
def test_engines_that_keep_ended_sessions_ended_pass(settings, engine):
    settings.SESSION_ENGINE = engine
    assert ids(checks.check_sessions()) == []


def test_w010_an_engine_it_cannot_judge(settings):
    settings.SESSION_ENGINE = "tests.session_engine_unknown"
    assert ids(checks.check_sessions()) == ["trust.W010"]


THROTTLE = "trust.backends.PasswordThrottleBackend"
OURS = "trust.backends.ModelBackend"
MODEL = "django.contrib.auth.backends.ModelBackend"
OTHER = "django_otp_webauthn.backends.WebAuthnBackend"


class MyThrottle(PasswordThrottleBackend):
    pass


class MyModelBackend(ModelBackend):
    pass


def test_e030_a_plain_model_backend_instead_of_the_throttle(settings):
    settings.AUTHENTICATION_BACKENDS = [MODEL]
    assert ids(checks.check_password_throttle()) == ["trust.E030"]
    settings.AUTHENTICATION_BACKENDS = [MODEL, OTHER]
    assert ids(checks.check_password_throttle()) == ["trust.E030"]


def test_e031_a_plain_model_backend_before_the_throttle(settings):
    settings.AUTHENTICATION_BACKENDS = [MODEL, OURS]
    assert ids(checks.check_password_throttle()) == ["trust.E031"]
    settings.AUTHENTICATION_BACKENDS = [MODEL, THROTTLE, OTHER]
    assert ids(checks.check_password_throttle()) == ["trust.E031"]


@pytest.mark.parametrize(
    "backends",
    [
        [OURS],
        [OURS, OTHER],
        ["tests.test_checks.MyModelBackend"],
        [THROTTLE, OTHER],
        ["tests.test_checks.MyThrottle", MODEL],
    ],
    ids=str,
)
def test_a_throttle_first_passes(settings, backends):
    settings.AUTHENTICATION_BACKENDS = backends
    assert ids(checks.check_password_throttle()) == []


def test_w040_risk_model_without_the_email_device(settings):
    apps = [app for app in settings.INSTALLED_APPS if app != "django_otp.plugins.otp_email"]
    settings.INSTALLED_APPS = apps
    assert ids(checks.check_email_codes()) == ["trust.W040"]
    settings.TRUST_RISK_ENABLED = False
    assert checks.check_email_codes() == []


@pytest.mark.django_db
@pytest.mark.parametrize("trust", [False, True], ids=["code", "trusted-device"])
@pytest.mark.parametrize("after_the_gate", [True, False], ids=["after", "before"])
def test_w001_what_a_second_wrapper_changes(account, clock, settings, after_the_gate, trust):
    """What trust.W001 says: django-otp's middleware beside the gate answers
    is_verified() after it (a trusted-device session reads as unverified),
    and loads a code-verified session's device when a view reads the user."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.conftest import browser, sign_in, step_up

    client = browser()
    sign_in(client, account)
    assert step_up(client, account, trust=trust).status_code == 302
    if trust:  # a new session, let in by the trusted device
        client.post("/accounts/logout/")
        clock.shift(timedelta(seconds=31))
        sign_in(client, account)
        client.get("/")

    def home(client):  # the home page reads the user
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/")
        assert response.status_code == 200
        return response.wsgi_request.user.is_verified(), len(queries)

    verified, alone = home(client)
    assert verified
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(middleware.index(TRUST) + after_the_gate, OTP)
    settings.MIDDLEWARE = middleware
    both = browser()  # a client loads its middleware once: a new one, same cookies
    both.cookies = client.cookies

    verified, queries = home(both)
    assert verified is not (trust and after_the_gate)
    assert queries == alone + (not trust)
