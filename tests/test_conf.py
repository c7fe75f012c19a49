"""The settings objects: each setting validated on first read and kept until
``setting_changed``; a malformed one is ``ImproperlyConfigured`` naming it."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured

from otp_flow.conf import conf as otp_conf
from trust.conf import conf


def refused(read, setting):
    with pytest.raises(ImproperlyConfigured) as raised:
        read()
    assert setting in str(raised.value)
    return str(raised.value)


@pytest.mark.parametrize("bad", ["1", -1, True, 1.5, None])
def test_proxy_count_not_a_whole_number(settings, bad):
    settings.TRUST_PROXY_COUNT = bad
    refused(lambda: conf.PROXY_COUNT, "TRUST_PROXY_COUNT")


@pytest.mark.parametrize(
    "bad", ["10.0.0.0/8", b"10.0.0.0/8", 5, None, {"10.0.0.0/8": 1}, ["10.0.0.0/33"], [None]]
)
def test_proxy_networks_not_a_list_of_networks(settings, bad):
    settings.TRUST_PROXY_NETWORKS = bad
    refused(lambda: conf.PROXY_NETWORKS, "TRUST_PROXY_NETWORKS")


def test_a_bad_network_is_named(settings):
    settings.TRUST_PROXY_NETWORKS = ["10.0.0.0/8", "not-a-network"]
    assert "'not-a-network'" in refused(lambda: conf.PROXY_NETWORKS, "TRUST_PROXY_NETWORKS")


@pytest.mark.parametrize(
    ("setting", "read"),
    [
        ("TRUST_LIFETIME", lambda: conf.LIFETIME),
        ("TRUST_IDLE_TIMEOUT", lambda: conf.IDLE_TIMEOUT),
        ("TRUST_PENDING_TIMEOUT", lambda: conf.PENDING_TIMEOUT),
        ("TRUST_SIGN_IN_HISTORY_MAX_AGE", lambda: conf.SIGN_IN_HISTORY_MAX_AGE),
        ("TRUST_SESSION_LIFETIME", lambda: conf.SESSION_LIFETIME),
        ("OTP_FLOW_SUDO_TIMEOUT", lambda: otp_conf.SUDO_TIMEOUT),
    ],
)
@pytest.mark.parametrize("bad", [30, timedelta(0), timedelta(seconds=-1), "P30D"])
def test_durations_not_a_positive_timedelta(settings, setting, read, bad):
    setattr(settings, setting, bad)
    refused(read, setting)


def test_a_session_lifetime_may_be_none(settings):
    settings.TRUST_SESSION_LIFETIME = None
    assert conf.SESSION_LIFETIME is None


def test_trust_lifetime_capped_at_90_days(settings):
    # docs/security.md R24: no site configures the cap away.
    settings.TRUST_LIFETIME = timedelta(days=91)
    assert "90 days" in refused(lambda: conf.LIFETIME, "TRUST_LIFETIME")
    settings.TRUST_LIFETIME = timedelta(days=90)
    assert timedelta(days=90) == conf.LIFETIME


@pytest.mark.parametrize("bad", ["tests.nowhere.policy", "tests.enrollment_policy", 42])
def test_enrollment_policy_not_a_callable(settings, bad):
    settings.TRUST_ENROLLMENT_REQUIRED = bad
    refused(lambda: conf.ENROLLMENT_REQUIRED, "TRUST_ENROLLMENT_REQUIRED")


def test_enrollment_policy_a_dotted_path_or_a_callable(settings):
    from tests.enrollment_policy import staff_must_enroll

    settings.TRUST_ENROLLMENT_REQUIRED = "tests.enrollment_policy.staff_must_enroll"
    assert conf.ENROLLMENT_REQUIRED is staff_must_enroll
    settings.TRUST_ENROLLMENT_REQUIRED = staff_must_enroll
    assert conf.ENROLLMENT_REQUIRED is staff_must_enroll


@pytest.mark.parametrize("bad", ["/health/", [42], None])
def test_exempt_urls_not_a_list_of_strings(settings, bad):
    settings.TRUST_EXEMPT_URLS = bad
    refused(lambda: conf.EXEMPT_URLS, "TRUST_EXEMPT_URLS")


def test_exempt_urls_split_into_paths_and_names(settings):
    settings.TRUST_EXEMPT_URLS = ["/status/", "signup"]
    assert conf.EXEMPT_URLS == (("/status/",), ("signup",))


@pytest.mark.parametrize("bad", [42, ""])
def test_logout_url_name_not_a_url_name(settings, bad):
    settings.TRUST_LOGOUT_URL_NAME = bad
    refused(lambda: conf.LOGOUT_URL_NAME, "TRUST_LOGOUT_URL_NAME")
    refused(conf.validate, "TRUST_LOGOUT_URL_NAME")  # at start-up too


@pytest.mark.parametrize(
    "setting", ["TRUST_RISK_STEP_UP", "TRUST_RISK_TRUSTED_STEP_UP", "TRUST_RISK_DENY"]
)
@pytest.mark.parametrize("bad", ["high", float("nan"), True, None])
def test_risk_thresholds_not_a_number(settings, setting, bad):
    setattr(settings, setting, bad)
    refused(lambda: conf.RISK_THRESHOLDS, setting)


def test_risk_thresholds_take_inf_and_whole_numbers(settings):
    settings.TRUST_RISK_STEP_UP = 1
    settings.TRUST_RISK_DENY = math.inf
    thresholds = conf.RISK_THRESHOLDS
    assert thresholds.step_up == 1.0 and thresholds.deny == math.inf


@pytest.mark.parametrize("bad", ["192.0.2.0/24", ["192.0.2.0/33"], [None], 5])
def test_blocked_networks_not_a_list_of_networks(settings, bad):
    settings.TRUST_RISK_BLOCKED_NETWORKS = bad
    refused(lambda: conf.RISK_BLOCKED_NETWORKS, "TRUST_RISK_BLOCKED_NETWORKS")


@pytest.mark.parametrize("bad", ["tests.nowhere.signal", ["tests.nowhere.signal"], [42]])
def test_risk_signals_not_a_list_of_callables(settings, bad):
    settings.TRUST_RISK_SIGNALS = bad
    refused(lambda: conf.RISK_SIGNALS, "TRUST_RISK_SIGNALS")


@pytest.mark.parametrize("bad", ["ALLOW", "block", None])
def test_risk_no_email_not_a_choice(settings, bad):
    settings.TRUST_RISK_NO_EMAIL = bad
    refused(lambda: conf.RISK_NO_EMAIL, "TRUST_RISK_NO_EMAIL")


def test_geoip_dir_not_a_path(settings):
    # The geolocation data is reloaded when the setting changes: read there first.
    def change():
        settings.TRUST_GEOIP_DIR = 42

    refused(change, "TRUST_GEOIP_DIR")


@pytest.mark.parametrize("bad", [0, 101, 10_000, "100", True, None])
def test_max_failures_out_of_range(settings, bad):
    settings.OTP_FLOW_MAX_FAILURES = bad
    refused(lambda: otp_conf.MAX_FAILURES, "OTP_FLOW_MAX_FAILURES")


@pytest.mark.parametrize("bad", ["auth.Group", ["auth"], ["auth.Group", 42], None])
def test_admin_sudo_models_not_a_list_of_model_labels(settings, bad):
    settings.OTP_FLOW_ADMIN_SUDO_MODELS = bad
    refused(lambda: otp_conf.ADMIN_SUDO_MODELS, "OTP_FLOW_ADMIN_SUDO_MODELS")


def test_admin_sudo_models_naming_installed_models(settings):
    settings.OTP_FLOW_ADMIN_SUDO_MODELS = ["auth.Group", "contenttypes.ContentType"]
    assert otp_conf.ADMIN_SUDO_MODELS == ("auth.Group", "contenttypes.ContentType")


def test_the_defaults_are_valid():
    conf.validate()
    otp_conf.validate()


def test_a_changed_setting_is_read_again(settings):
    # Kept between reads, until setting_changed (override_settings, the
    # settings fixture) says it changed: what the settings say now counts.
    settings.TRUST_IDLE_TIMEOUT = timedelta(days=3)
    assert timedelta(days=3) == conf.IDLE_TIMEOUT
    settings.TRUST_IDLE_TIMEOUT = timedelta(days=4)
    assert timedelta(days=4) == conf.IDLE_TIMEOUT


def test_a_value_is_kept_until_a_setting_changes(settings):
    settings.TRUST_PENDING_TIMEOUT = timedelta(minutes=5)
    assert conf.PENDING_TIMEOUT is conf.PENDING_TIMEOUT
    settings.TRUST_PENDING_TIMEOUT = timedelta(minutes=6)
    assert timedelta(minutes=6) == conf.PENDING_TIMEOUT


def test_a_malformed_setting_is_refused_on_every_read_not_kept(settings):
    settings.TRUST_PROXY_COUNT = -1
    refused(lambda: conf.PROXY_COUNT, "TRUST_PROXY_COUNT")
    refused(lambda: conf.PROXY_COUNT, "TRUST_PROXY_COUNT")


def test_a_malformed_setting_stops_the_start_up():
    from tests.processes import manage, site_env

    env = site_env(TRUST_PROXY_COUNT="1", TRUST_PROXY_NETWORKS="10.0.0.0/8,not-a-network")
    with pytest.raises(RuntimeError) as failed:
        manage(env, "check")
    assert "ImproperlyConfigured: TRUST_PROXY_NETWORKS has 'not-a-network'" in str(failed.value)
