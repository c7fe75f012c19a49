"""Secrets never reach Django's error reports (docs/security.md R34: no secret
in logs, error reports or URLs), even when a database error strikes mid-check."""

from __future__ import annotations

import html
import sys
from contextlib import contextmanager

from django.core.signals import got_request_exception
from django.db import OperationalError, connection
from django.views.debug import ExceptionReporter

from otp_flow.models import BackupCodeDevice
from tests.conftest import Authenticator, browser, sign_in, trusted_browser


def failing(table: str, verb: str):
    def wrapper(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(verb) and table in sql:
            raise OperationalError(f"injected failure on {verb} {table}")
        return execute(sql, params, many, context)

    return wrapper


@contextmanager
def reports_of_500s(client, wrapper):
    """Requests under ``wrapper`` fail; yields the text and HTML reports made."""
    client.raise_request_exception = False
    made: list[str] = []

    def capture(sender, request, **kwargs):
        reporter = ExceptionReporter(request, *sys.exc_info())
        made.append(reporter.get_traceback_text())
        made.append(html.unescape(reporter.get_traceback_html()))

    got_request_exception.connect(capture)
    try:
        with connection.execute_wrapper(wrapper):
            yield made
    finally:
        got_request_exception.disconnect(capture)


def test_device_secret_stays_out_of_error_reports(account, clock, settings):
    settings.DEBUG = False
    client = trusted_browser(account, clock)
    secret = client.cookies["trustgate_token"].value
    # A failure in the middle of a trusted sign-in: the rotation rolls back,
    # so the presented secret is still the live one.
    with reports_of_500s(client, failing("trust_supersededtoken", "INSERT")) as made:
        response = sign_in(client, account)
    assert response.status_code == 500 and made
    for report in made:
        assert secret not in report


def test_totp_key_and_code_stay_out_of_error_reports(account, settings):
    settings.DEBUG = False
    client = browser()
    sign_in(client, account)
    code, key = account.code(), account.device.bin_key
    with reports_of_500s(client, failing("otp_totp_totpdevice", "UPDATE")) as made:
        assert client.post("/2fa/verify/", {"otp_token": code}).status_code == 500
    for report in made:
        assert code not in report
        assert repr(key) not in report and key.hex() not in report


def test_backup_code_stays_out_of_error_reports(account, settings):
    settings.DEBUG = False
    made_codes = BackupCodeDevice.objects.create(user=account.user, name="Backup codes")
    code = made_codes.replace_codes()[0]
    client = browser()
    sign_in(client, account)
    with reports_of_500s(client, failing("otp_flow_backupcode", "DELETE")) as made:
        assert client.post("/2fa/verify/", {"otp_token": code}).status_code == 500
    for report in made:
        assert code not in report


def test_new_authenticator_secret_stays_out_of_error_reports(make_user, settings):
    settings.DEBUG = False
    account = make_user(totp=False)
    client = browser()
    sign_in(client, account)
    app = Authenticator.from_page(client.get("/2fa/setup/"))
    with reports_of_500s(client, failing("otp_totp_totpdevice", "UPDATE")) as made:
        assert client.post("/2fa/setup/", {"otp_token": app.code()}).status_code == 500
    for report in made:
        assert repr(app.key) not in report and app.key.hex() not in report
