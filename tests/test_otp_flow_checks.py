"""otp_flow's system checks: one test per id."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.checks import run_checks

from otp_flow import checks


def ids(messages):
    return [m.id for m in messages]


def test_clean_settings_pass():
    assert [m for m in run_checks() if m.id and m.id.startswith("otp_flow.")] == []


@pytest.mark.parametrize("value", [0, 101, 10_000, "100", True, None])
def test_e001_max_failures_out_of_range(settings, value):
    settings.OTP_FLOW_MAX_FAILURES = value
    assert ids(checks.check_settings()) == ["otp_flow.E001"]


@pytest.mark.parametrize("value", [timedelta(0), 600, None])
def test_e002_sudo_timeout_not_a_positive_timedelta(settings, value):
    settings.OTP_FLOW_SUDO_TIMEOUT = value
    assert ids(checks.check_settings()) == ["otp_flow.E002"]


@pytest.mark.parametrize(
    "missing", ["OTP_WEBAUTHN_RP_ID", "OTP_WEBAUTHN_RP_NAME", "OTP_WEBAUTHN_ALLOWED_ORIGINS"]
)
def test_e020_relying_party_not_configured(settings, missing):
    setattr(settings, missing, [] if missing.endswith("ORIGINS") else "")
    assert ids(checks.check_passkeys()) == ["otp_flow.E020"]


def test_e021_rp_id_not_a_host_of_this_site(settings):
    settings.OTP_WEBAUTHN_RP_ID = "example.com"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = ["https://example.com"]
    settings.ALLOWED_HOSTS = ["trustgate.example.org"]
    assert ids(checks.check_passkeys()) == ["otp_flow.E021"]
    settings.ALLOWED_HOSTS = ["login.example.com"]  # a parent domain is fine
    assert ids(checks.check_passkeys()) == []


@pytest.mark.parametrize("origin", ["https://evil.example", "https://notlocalhost:8000"])
def test_e022_origin_not_on_the_rp_id(settings, origin):
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = ["http://localhost:8000", origin]
    assert ids(checks.check_passkeys()) == ["otp_flow.E022"]


def test_e023_passwordless_without_the_backend(settings):
    settings.OTP_FLOW_PASSKEY_PASSWORDLESS = True
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
    assert ids(checks.check_passkeys()) == ["otp_flow.E023"]


@pytest.mark.parametrize(
    "value", ["auth.Group", ["nowhere.Model"], ["auth"], ["auth.Group", 42], None]
)
def test_e003_admin_sudo_models_not_a_list_of_model_labels(settings, value):
    settings.OTP_FLOW_ADMIN_SUDO_MODELS = value
    assert ids(checks.check_settings()) == ["otp_flow.E003"]


def test_admin_sudo_models_naming_installed_models_pass(settings):
    settings.OTP_FLOW_ADMIN_SUDO_MODELS = ["auth.Group", "contenttypes.ContentType"]
    assert checks.check_settings() == []


def test_w001_an_admin_site_without_sudo_mode():
    from django.contrib.admin import AdminSite

    plain = AdminSite(name="plain")
    found = checks.check_admin_sites()
    assert ids(found) == ["otp_flow.W001"]
    assert "'plain'" in found[0].msg
    assert plain.name == "plain"  # kept alive until here: the check sees live sites


def test_w002_the_device_name_setting_is_gone(settings):
    from otp_flow import checks as otp_checks

    settings.OTP_FLOW_DEVICE_NAME = "Phone"
    assert [m.id for m in otp_checks.check_deprecated_settings()] == ["otp_flow.W002"]
    del settings.OTP_FLOW_DEVICE_NAME
    assert otp_checks.check_deprecated_settings() == []
