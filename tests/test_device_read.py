"""``trust.cookie.devices_by_hash``: the look-up every sign-in with a device
cookie runs finds the devices of the secrets it is given and nothing for a
secret nobody holds."""

from __future__ import annotations

from django.db.models import Model

from tests.conftest import trusted_browser
from trust.cookie import devices_by_hash, presented_secrets
from trust.models import TrustedDevice
from trust.rules import tokens


def fields(device: Model) -> dict:
    return {f.attname: getattr(device, f.attname) for f in TrustedDevice._meta.concrete_fields}


def test_a_device_read_by_its_secret_is_the_orm_s_device(account, clock):
    laptop = trusted_browser(account, clock)
    request = laptop.get("/accounts/login/").wsgi_request
    [secret] = presented_secrets(request)
    [read] = devices_by_hash([tokens.hash_secret(secret), "0" * 64])  # one unknown
    orm = TrustedDevice.objects.get(token_hash=tokens.hash_secret(secret))
    assert fields(read) == fields(orm)
    assert read.created_at.tzinfo is not None and read.user_id == account.user.pk
    assert read._state.adding is False and read._state.db == orm._state.db
    assert devices_by_hash([]) == [] and devices_by_hash(["0" * 64]) == []
