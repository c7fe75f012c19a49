"""System checks for other stacks (APIs, django-allauth, other 2FA apps): one test per id."""

from __future__ import annotations

from trust import checks
from trust.conf import conf


def ids(messages):
    return [m.id for m in messages]


def without(settings, *names):
    return [app for app in settings.INSTALLED_APPS if app not in names]


def test_w020_drfs_password_to_token_view_routed(settings):
    settings.ROOT_URLCONF = "tests.urls_password_token"
    messages = checks.check_api_tokens()
    assert ids(messages) == ["trust.W020"]
    assert "/api/password-token/" in messages[0].msg
    assert "trust.contrib.drf.views.ObtainTokenView" in messages[0].hint


def test_w020_token_app_installed_without_trustgates_token_view(settings):
    settings.ROOT_URLCONF = "tests.urls_no_logout"  # no API at all
    messages = checks.check_api_tokens()
    assert ids(messages) == ["trust.W020"]
    assert "rest_framework.authtoken is installed" in messages[0].msg


def test_w020_silent_with_trustgates_token_view_only(settings):
    assert settings.ROOT_URLCONF == "project.urls"  # routes /api/token/ (ours)
    assert checks.check_api_tokens() == []


def test_w020_silent_without_a_token_app(settings):
    settings.INSTALLED_APPS = without(settings, "rest_framework.authtoken")
    settings.ROOT_URLCONF = "tests.urls_no_logout"
    assert checks.check_api_tokens() == []


def test_w021_api_view_taking_http_basic(settings):
    settings.ROOT_URLCONF = "tests.urls_drf"
    messages = checks.check_api_basic_auth()
    assert ids(messages) == ["trust.W021"]
    assert "/api/basic/" in messages[0].msg and "/api/me/" not in messages[0].msg


def test_w021_silent_for_session_and_token_views(settings):
    assert checks.check_api_basic_auth() == []


def test_e021_token_view_routed_without_drfs_token_app(settings):
    assert settings.ROOT_URLCONF == "project.urls"  # routes trust.contrib.drf's /api/token/
    settings.INSTALLED_APPS = without(settings, "rest_framework.authtoken")
    messages = checks.check_token_app()
    assert ids(messages) == ["trust.E021"]
    assert "/api/token/" in messages[0].msg
    assert "rest_framework.authtoken" in messages[0].msg
    assert '"rest_framework.authtoken"' in messages[0].hint


def test_e021_silent_with_drfs_token_app(settings):
    assert checks.check_token_app() == []


def test_e021_silent_when_the_token_view_is_not_routed(settings):
    settings.INSTALLED_APPS = without(settings, "rest_framework.authtoken")
    settings.ROOT_URLCONF = "tests.urls_no_logout"  # no API at all
    assert checks.check_token_app() == []


def test_w022_no_sign_out_view_found(settings):
    settings.ROOT_URLCONF = "tests.urls_no_logout"
    messages = checks.check_logout_url()
    assert ids(messages) == ["trust.W022"]
    assert "TRUST_LOGOUT_URL_NAME" in messages[0].hint


def test_w022_named_sign_out_view_missing(settings):
    settings.TRUST_LOGOUT_URL_NAME = "sign_off"  # not in the demo's URLs
    assert ids(checks.check_logout_url()) == ["trust.W022"]
    settings.ROOT_URLCONF = "tests.urls_no_logout"  # it is here
    assert checks.check_logout_url() == []


def test_logout_url_name_found_by_itself(settings):
    assert conf.LOGOUT_URL_NAME == "logout"  # Django's, in the demo
    settings.ROOT_URLCONF = "tests.urls_no_logout"
    assert conf.LOGOUT_URL_NAME == "logout"  # nothing found: the documented default
    settings.TRUST_LOGOUT_URL_NAME = "sign_off"
    assert conf.LOGOUT_URL_NAME == "sign_off"


ALLAUTH = ("allauth", "allauth.account")
ALLAUTH_MIDDLEWARE = "allauth.account.middleware.AccountMiddleware"


def test_w023_allauth_mfa_beside_trustgate(settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, ALLAUTH_MIDDLEWARE]
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, *ALLAUTH, "allauth.mfa"]
    messages = checks.check_other_two_factor()
    assert ids(messages) == ["trust.W023"]
    assert "allauth.mfa" in messages[0].msg


def test_w023_silent_with_allauth_accounts_only(settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, ALLAUTH_MIDDLEWARE]
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, *ALLAUTH]
    assert checks.check_other_two_factor() == []
