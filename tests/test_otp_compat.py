"""``trust.otp_compat.LazyDevice``: ``user.otp_device`` costs no query until used."""

from __future__ import annotations

import pickle

from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice

from trust.otp_compat import LazyDevice


def test_isinstance_and_pickling_load_nothing(account, django_assert_num_queries):
    lazy = LazyDevice(account.device.persistent_id)
    with django_assert_num_queries(0):
        assert isinstance(lazy, TOTPDevice) and isinstance(lazy, Device)
        restored = pickle.loads(pickle.dumps(lazy))
        assert bool(lazy)
    with django_assert_num_queries(1):  # the first use loads it, once
        assert lazy.persistent_id == account.device.persistent_id
        assert lazy.name == account.device.name
    assert lazy == account.device and restored == account.device
    assert hash(lazy) == hash(account.device)


def test_an_unknown_model_answers_isinstance_as_a_device_without_a_query(
    db, django_assert_num_queries
):
    lazy = LazyDevice("otp_bogus.bogusdevice/1")
    with django_assert_num_queries(0):
        assert isinstance(lazy, Device)
