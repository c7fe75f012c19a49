"""``trust.digests.keyed_digest``: Django's ``salted_hmac``, its key kept per salt."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.utils.crypto import salted_hmac

from trust.digests import keyed_digest

VALUES = [
    "",
    "ip:84.128.0.1",
    "network:2001:db8::/64",
    "ünïcödé@exämple.com",
    "名前",
    "a\x00b",
    "x" * 100_000,
]


def djangos(salt: str, value: str) -> str:
    return salted_hmac(salt, value, algorithm="sha256").hexdigest()


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("salt", ["trust.risk.count", "trust.password_throttle"])
def test_the_same_digest_as_salted_hmac(salt, value):
    assert keyed_digest(salt, value) == djangos(salt, value)
    assert keyed_digest(salt, value) == djangos(salt, value)  # from the kept key


def test_each_salt_is_its_own_key():
    assert keyed_digest("trust.risk.count", "v") != keyed_digest("trust.password_throttle", "v")


def test_a_new_secret_key_gives_new_digests():
    before = keyed_digest("trust.risk.count", "ip:84.128.0.1")
    with override_settings(SECRET_KEY="another key, rotated" * 3):
        rotated = keyed_digest("trust.risk.count", "ip:84.128.0.1")
        assert rotated == djangos("trust.risk.count", "ip:84.128.0.1")
    assert rotated != before
    assert keyed_digest("trust.risk.count", "ip:84.128.0.1") == before
