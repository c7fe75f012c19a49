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
