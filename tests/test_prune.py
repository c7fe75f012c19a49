"""``manage.py trust_prune`` forgets ended sessions and the old secrets of ended trust."""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module
from io import StringIO

from django.conf import settings
from django.core.management import call_command

from tests.conftest import browser, sign_in, trusted_browser
from trust.flows import password_throttle
from trust.models import PasswordThrottle, SupersededToken, TrustedDevice, TrustedSession


def test_prune_drops_what_outlived_its_use(account, clock):
    client = trusted_browser(account, clock)
    sign_in(client, account)  # a trusted sign-in: the old secret is kept
    assert SupersededToken.objects.count() == 1
    live = browser()
    sign_in(live, account)
    gone_key = client.cookies["sessionid"].value
    import_module(settings.SESSION_ENGINE).SessionStore(session_key=gone_key).delete()
    TrustedDevice.objects.update(expires_at=TrustedDevice.objects.get().created_at)
    clock.shift(timedelta(seconds=1))

    out = StringIO()
    call_command("trust_prune", stdout=out)
    assert "Pruned 1 session index entries and 1 old secrets." in out.getvalue()
    assert list(TrustedSession.objects.values_list("session_key", flat=True)) == [
        live.cookies["sessionid"].value
    ]
    assert not SupersededToken.objects.exists()
    assert TrustedDevice.objects.count() == 1  # history stays


def test_prune_forgets_password_failures_a_day_old(account, clock):
    for name in ("alice", "nobody"):
        browser(REMOTE_ADDR="203.0.113.66").post(
            "/accounts/login/", {"username": name, "password": "wrong"}
        )
    assert PasswordThrottle.objects.count() == 3  # two accounts, one address
    clock.shift(timedelta(hours=23))
    browser(REMOTE_ADDR="198.51.100.7").post(
        "/accounts/login/", {"username": "nobody", "password": "wrong"}
    )
    clock.shift(timedelta(hours=2))

    out = StringIO()
    call_command("trust_prune", stdout=out)
    assert "Pruned 2 password-throttle records." in out.getvalue()
    assert sorted(PasswordThrottle.objects.values_list("scope", "key")) == [
        ("account", password_throttle.name_key("nobody")),
        ("address", "198.51.100.7/32"),
    ]
