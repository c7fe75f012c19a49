"""The security log: every event kind is written once per occurrence and signalled
once, after the transaction commits, and shown on the devices page."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from otp_flow.models import BackupCodeDevice
from tests.agents import FIREFOX_WINDOWS
from tests.conftest import Authenticator, browser, sign_in, step_up, trusted_browser
from trust import signals
from trust.models import EventKind, SecurityEvent, TrustedDevice

pytestmark = pytest.mark.django_db(transaction=True)

KIND_SIGNALS = {
    EventKind.DEVICE_TRUSTED: signals.device_trusted,
    EventKind.DEVICE_REVOKED: signals.device_revoked,
    EventKind.STEP_UP_PASSED: signals.step_up_passed,
    EventKind.STEP_UP_FAILED: signals.step_up_failed,
    EventKind.SUSPICIOUS_COOKIE: signals.suspicious_cookie,
}


class Heard:
    """What the signals said, and whether a transaction was still open then."""

    def __init__(self) -> None:
        self.events: list[SecurityEvent] = []
        self.kind_signals: Counter[str] = Counter()
        self.in_transaction: list[bool] = []

    def on_event(self, sender, user, event, request=None, **kwargs) -> None:
        self.events.append(event)
        self.in_transaction.append(connection.in_atomic_block)
        assert SecurityEvent.objects.filter(pk=event.pk).exists()
        assert event.user_id == user.pk

    def on_kind(self, signal):
        def receive(sender, user, event, request=None, **kwargs) -> None:
            self.kind_signals[event.kind] += 1

        return receive

    def kinds(self) -> Counter[str]:
        return Counter(event.kind for event in self.events)


@pytest.fixture
def heard():
    listener = Heard()
    receivers = [(signals.security_event, listener.on_event)]
    receivers += [(signal, listener.on_kind(signal)) for signal in KIND_SIGNALS.values()]
    for signal, receiver in receivers:
        signal.connect(receiver, weak=False)
    yield listener
    for signal, receiver in receivers:
        signal.disconnect(receiver)


def give_codes(account) -> list[str]:
    return BackupCodeDevice.objects.create(user=account.user, name="Backup codes").replace_codes()


def verified(account, clock, user_agent=FIREFOX_WINDOWS):
    client = browser(user_agent)
    sign_in(client, account)
    step_up(client, account, trust=False)
    clock.shift(timedelta(seconds=31))
    return client


# Each scenario: (set-up, action). Only the action is counted.


def _trusted(account, clock):
    client = browser()
    sign_in(client, account)
    return lambda: step_up(client, account, trust=True)


def _revoked(account, clock):
    trusted_browser(account, clock)
    client = verified(account, clock)
    device = TrustedDevice.objects.get(user=account.user)
    return lambda: client.post(f"/devices/{device.pk}/revoke/")


def _signed_in_trusted(account, clock):
    client = trusted_browser(account, clock)

    def act():
        sign_in(client, account)
        client.get("/")

    return act


def _step_up_failed(account, clock):
    client = browser()
    sign_in(client, account)
    return lambda: client.post("/2fa/verify/", {"otp_token": "abc"})


def _suspicious(account, clock):
    original = trusted_browser(account, clock)
    thief = browser(FIREFOX_WINDOWS)
    thief.cookies = original.cookies

    def act():
        sign_in(thief, account)
        thief.get("/")

    return act


def _enabled(account, clock):
    TOTPDevice.objects.filter(user=account.user).delete()
    client = browser()
    sign_in(client, account)
    app = Authenticator.from_page(client.get("/2fa/setup/"))
    return lambda: client.post("/2fa/setup/", {"otp_token": app.code()})


def _disabled(account, clock):
    client = verified(account, clock)
    return lambda: client.post("/2fa/disable/", {"otp_token": account.code()})


def _replaced(account, clock):
    client = verified(account, clock)
    new = Authenticator.from_page(client.get("/2fa/replace/"))
    return lambda: client.post("/2fa/replace/", {"otp_token": new.code()})


def _backup_used(account, clock):
    made = give_codes(account)
    client = browser()
    sign_in(client, account)
    return lambda: client.post("/2fa/verify/", {"otp_token": made[0]})


def _regenerated(account, clock):
    give_codes(account)
    client = verified(account, clock)
    return lambda: client.post("/2fa/backup-codes/")


def _password_changed(account, clock):
    def act():
        user = get_user_model().objects.get(pk=account.user.pk)
        user.set_password("another passphrase entirely 9")
        user.save()

    return act


def _password_reset(account, clock):
    client = browser()
    client.post("/accounts/password/reset/", {"email": account.user.email})
    path = re.search(r"http://testserver(\S+)", mail.outbox[-1].body).group(1)
    form_url = client.get(path, follow=True).redirect_chain[-1][0]
    new = "another passphrase entirely 9"
    return lambda: client.post(form_url, {"new_password1": new, "new_password2": new})


def _trust_refused(account, clock):
    client = trusted_browser(account, clock)
    TrustedDevice.objects.filter(user=account.user).update(revoked_at=timezone.now())

    def act():
        sign_in(client, account)
        client.get("/")

    return act


def _factor_added(account, clock):
    # The admin or a shell: no flow of Trustgate's records this one.
    return lambda: TOTPDevice.objects.create(user=account.user, name="Shell", confirmed=True)


def _factor_removed(account, clock):
    return lambda: TOTPDevice.objects.filter(pk=account.device.pk).delete()


def _session_reported(account, clock):
    made = give_codes(account)
    thief = browser()
    sign_in(thief, account)
    thief.post("/2fa/verify/", {"otp_token": made[0]})
    body = [m for m in mail.outbox if "backup code was used" in m.subject][-1].body
    path = re.search(r"http://testserver(/devices/not-me/[^/\s]+/)", body).group(1)
    return lambda: browser().post(path)


def _passkey_added(account, clock):
    from tests.passkey_authenticator import Authenticator as Passkey
    from tests.test_passkeys import add_passkey

    client = verified(account, clock)
    return lambda: add_passkey(client, Passkey())


def _passkey_removed(account, clock):
    from django_otp_webauthn.models import WebAuthnCredential

    from tests.passkey_authenticator import Authenticator as Passkey
    from tests.test_passkeys import add_passkey

    client = verified(account, clock)
    add_passkey(client, Passkey())
    passkey = WebAuthnCredential.objects.get(user=account.user)
    return lambda: client.post(f"/2fa/passkeys/{passkey.pk}/remove/")


def _passkey_sign_in(account, clock):
    import json

    from django.test import override_settings

    from tests.passkey_authenticator import Authenticator as Passkey
    from tests.test_passkeys import add_passkey

    key = Passkey()
    add_passkey(verified(account, clock), key)
    stranger = browser()

    def act():
        with override_settings(OTP_FLOW_PASSKEY_PASSWORDLESS=True):
            options = stranger.post("/2fa/passkey-sign-in/options/").json()
            stranger.post("/2fa/passkey-sign-in/", {"credential": json.dumps(key.get(options))})

    return act


def _password_failures(account, clock):
    from tests.test_password_throttle import ATTACKER, fail_checked

    fail_checked(browser(REMOTE_ADDR=ATTACKER), account.user.get_username(), 10, clock)
    clock.shift(timedelta(minutes=15))  # past the wait the failures earned
    client = browser()
    return lambda: sign_in(client, account)


def always_step_up(context):
    from trust.risk import STEP_UP, SignalResult

    return SignalResult(("site_check",), STEP_UP)


def always_deny(context):
    from trust.risk import DENY, SignalResult

    return SignalResult(("site_says_no",), DENY)


def _risk_settings(**overrides):
    from django.test import override_settings

    return override_settings(
        TRUST_PROXY_COUNT=1, TRUST_PROXY_NETWORKS=["127.0.0.1/32"], **overrides
    )


def _new_country(account, clock):
    with _risk_settings():
        client = browser(HTTP_X_FORWARDED_FOR="80.128.0.1")  # Germany
        sign_in(client, account)
        step_up(client, account, trust=True)
        client.post("/accounts/logout/")
        clock.shift(timedelta(days=2))
        client.defaults["HTTP_X_FORWARDED_FOR"] = "203.178.141.194"  # Japan
        sign_in(client, account)

    def act():
        with _risk_settings():
            step_up(client, account, trust=False, at=None)

    return act


def _risky_passed(account, clock):
    client = trusted_browser(account, clock)
    with _risk_settings(TRUST_RISK_SIGNALS=[f"{__name__}.always_step_up"]):
        sign_in(client, account)
    clock.shift(timedelta(seconds=31))
    return lambda: step_up(client, account, trust=False)


def _risky_unchecked(account, clock):
    account.device.delete()
    account.user.email = ""
    account.user.save()
    client = browser()

    def act():
        with _risk_settings(TRUST_RISK_SIGNALS=[f"{__name__}.always_step_up"]):
            sign_in(client, account)

    return act


def _refused(account, clock):
    client = trusted_browser(account, clock)

    def act():
        with _risk_settings(TRUST_RISK_SIGNALS=[f"{__name__}.always_deny"]):
            sign_in(client, account)

    return act


SCENARIOS = {
    EventKind.DEVICE_TRUSTED: _trusted,
    EventKind.DEVICE_REVOKED: _revoked,
    EventKind.SIGNED_IN_TRUSTED: _signed_in_trusted,
    EventKind.STEP_UP_PASSED: _trusted,
    EventKind.STEP_UP_FAILED: _step_up_failed,
    EventKind.SUSPICIOUS_COOKIE: _suspicious,
    EventKind.TWO_FACTOR_ENABLED: _enabled,
    EventKind.TWO_FACTOR_DISABLED: _disabled,
    EventKind.AUTHENTICATOR_REPLACED: _replaced,
    EventKind.BACKUP_CODE_USED: _backup_used,
    EventKind.BACKUP_CODES_REGENERATED: _regenerated,
    EventKind.PASSWORD_CHANGED: _password_changed,
    EventKind.PASSWORD_RESET: _password_reset,
    EventKind.TRUST_REFUSED: _trust_refused,
    EventKind.SESSION_REPORTED: _session_reported,
    EventKind.PASSKEY_ADDED: _passkey_added,
    EventKind.PASSKEY_REMOVED: _passkey_removed,
    EventKind.PASSKEY_SIGN_IN: _passkey_sign_in,
    EventKind.PASSWORD_FAILURES: _password_failures,
    EventKind.SECOND_FACTOR_ADDED: _factor_added,
    EventKind.SECOND_FACTOR_REMOVED: _factor_removed,
    EventKind.NEW_COUNTRY: _new_country,
    EventKind.RISKY_SIGN_IN_PASSED: _risky_passed,
    EventKind.RISKY_SIGN_IN_UNCHECKED: _risky_unchecked,
    EventKind.SIGN_IN_REFUSED: _refused,
}


def test_every_event_kind_has_a_scenario():
    assert set(SCENARIOS) == set(EventKind)


@pytest.mark.parametrize("kind", list(SCENARIOS), ids=str)
def test_each_kind_is_recorded_and_signalled_once_after_commit(kind, account, clock, heard):
    act = SCENARIOS[kind](account, clock)
    before = set(SecurityEvent.objects.values_list("pk", flat=True))
    heard.events.clear()
    heard.kind_signals.clear()
    heard.in_transaction.clear()

    act()

    new = SecurityEvent.objects.exclude(pk__in=before).filter(kind=kind)
    assert new.count() == 1
    event = new.get()
    assert event.user_id == account.user.pk
    assert heard.kinds()[kind] == 1
    assert [e.pk for e in heard.events if e.kind == kind] == [event.pk]
    if kind in KIND_SIGNALS:
        assert heard.kind_signals[kind] == 1
    assert not any(heard.in_transaction)  # sent after the commit, never inside


def test_events_carry_ip_device_and_reasons(account, clock, heard):
    original = trusted_browser(account, clock)
    thief = browser(FIREFOX_WINDOWS, REMOTE_ADDR="198.51.100.23")
    thief.cookies = original.cookies
    sign_in(thief, account)
    thief.get("/")
    event = SecurityEvent.objects.get(kind=EventKind.SUSPICIOUS_COOKIE)
    assert event.ip == "198.51.100.23"
    assert event.device_name == "Chrome on Windows"
    assert event.reasons == ["fingerprint_mismatch"]
    assert event.device == TrustedDevice.objects.get(user=account.user)


def test_a_rolled_back_event_is_never_signalled(account, heard):
    from django.db import transaction

    from trust.flows import events

    heard.events.clear()  # the account's authenticator, added as a shell would
    with pytest.raises(RuntimeError), transaction.atomic():
        events.record(account.user, EventKind.STEP_UP_FAILED)
        raise RuntimeError
    assert not SecurityEvent.objects.filter(kind=EventKind.STEP_UP_FAILED).exists()
    assert not heard.events


def test_devices_page_shows_recent_security_activity(account, clock):
    made = give_codes(account)
    client = browser()
    sign_in(client, account)
    client.post("/2fa/verify/", {"otp_token": "000000x"})
    client.post("/2fa/verify/", {"otp_token": made[0], "trust_device": "on"})
    html = client.get("/devices/").content.decode()
    section = html[html.index("Recent security activity") :]
    for label in ["Code rejected", "Code accepted", "Backup code used", "Device trusted"]:
        assert label in section
    assert made[0] not in html


def test_events_from_a_request_name_its_browser(account):
    made = give_codes(account)
    client = browser(REMOTE_ADDR="203.0.113.9")
    sign_in(client, account)
    client.post("/2fa/verify/", {"otp_token": made[0]})
    for kind in (EventKind.STEP_UP_PASSED, EventKind.BACKUP_CODE_USED):
        event = SecurityEvent.objects.get(kind=kind)
        assert (event.device_name, event.ip) == ("Chrome on Windows", "203.0.113.9")
