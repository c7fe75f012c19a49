"""django-otp's own middleware cases (``OTPMiddlewareTestCase`` and
``OTPMiddlewareAsyncTestCase`` in django_otp/tests.py: verified, legacy device
id, unverified, no device, no model, wrong user, pickling), rewritten for a
real session: each signs in through a real login view, over the whole stack,
under WSGI (``Client``) and under ASGI (``AsyncClient``)."""

from __future__ import annotations

import pickle

import pytest
from asgiref.sync import async_to_sync

from tests.asgi_client import AsyncBrowser
from tests.conftest import browser, sign_in

pytestmark = pytest.mark.urls("tests.urls_django_otp")


def otp_login(client, account, code=None):
    """django-otp's own LoginView: password and code in one form."""
    return client.post(
        "/otp-login/",
        {
            "username": account.user.get_username(),
            "password": account.password,
            "otp_device": account.device.persistent_id,
            "otp_token": code or account.code(),
        },
    )


def recorded_login(client, account, device_id):
    return client.post(
        "/recorded-device-login/",
        {
            "username": account.user.get_username(),
            "password": account.password,
            "otp_device_id": device_id,
        },
    )


def legacy_id(device) -> str:
    """The device id django-otp before 1.0 wrote: the model's import path."""
    return f"{type(device).__module__}.{type(device).__name__}/{device.pk}"


# --- verified: the view sees is_verified() and otp_device; the user pickles ----


@pytest.mark.parametrize("how", ["django_otp_login", "legacy_device_id"])
def test_verified_sync(account, how):
    client = browser()
    if how == "django_otp_login":
        assert otp_login(client, account).status_code == 302
    else:
        assert recorded_login(client, account, legacy_id(account.device)).status_code == 200
    response = client.get("/otp-status/")
    assert response.status_code == 200
    assert response.json() == {
        "verified": True,
        "restored_verified": True,  # pickled and unpickled in the view
        "restored_username": "alice",
        "device": account.device.persistent_id,
    }


@pytest.mark.parametrize("how", ["django_otp_login", "legacy_device_id"])
def test_verified_async(account, how):
    device_id, code = legacy_id(account.device), account.code()

    async def story():
        client = AsyncBrowser()
        if how == "django_otp_login":
            assert (await otp_login(client, account, code)).status_code == 302
        else:
            assert (await recorded_login(client, account, device_id)).status_code == 200
        return await client.get("/aotp-status/")

    response = async_to_sync(story)()
    assert response.status_code == 200
    assert response.json() == {
        "verified": True,
        "restored_verified": True,
        "restored_username": "alice",
    }


def test_a_pickled_user_keeps_its_device_lazy_and_costs_no_query(
    account, django_assert_num_queries
):
    client = browser()
    otp_login(client, account)
    user = client.get("/").wsgi_request.user
    with django_assert_num_queries(0):
        restored = pickle.loads(pickle.dumps(user))
    assert restored.is_verified()
    assert restored.otp_device.persistent_id == account.device.persistent_id
    # Once loaded, the device itself is what pickles.
    assert pickle.loads(pickle.dumps(user.otp_device)) == account.device


# --- unverified: the session owes a code, the user says so, and still pickles -


def _unverified_cases(account, bob):
    return {
        "unverified": None,  # password alone, nothing recorded
        "no_device": "otp_totp.totpdevice/0",
        "no_model": "otp_bogus.bogusdevice/0",
        "wrong_user": bob.device.persistent_id,
        # Hostile or garbled values: never verified, never a 500.
        "not_a_device_model": f"auth.user/{account.user.pk}",
        "not_an_id": "otp_totp.totpdevice/one",
        "no_slash": "garbage",
        "dotted_garbage": "a.b.c.d",
        "two_slashes": f"otp_totp.totpdevice/{account.device.pk}/1",
        "empty": "",
    }


CASES = [
    "unverified",
    "no_device",
    "no_model",
    "wrong_user",
    "not_a_device_model",
    "not_an_id",
    "no_slash",
    "dotted_garbage",
    "two_slashes",
    "empty",
]


@pytest.mark.parametrize("case", CASES)
def test_unverified_sync(account, make_user, case):
    device_id = _unverified_cases(account, make_user("bob"))[case]
    client = browser()
    if device_id is None:
        signed_in = sign_in(client, account)
    else:
        signed_in = recorded_login(client, account, device_id)
    assert signed_in.status_code == 302
    assert signed_in["Location"].startswith("/2fa/verify/")
    response = client.get("/otp-status/")
    assert response.status_code == 302  # the view never runs for a pending session
    assert response["Location"].startswith("/2fa/verify/")
    user = response.wsgi_request.user
    assert user.is_authenticated and not user.is_verified()
    assert user.otp_device is None
    assert not pickle.loads(pickle.dumps(user)).is_verified()


@pytest.mark.parametrize("case", CASES)
def test_unverified_async(account, make_user, case):
    device_id = _unverified_cases(account, make_user("bob"))[case]

    async def story():
        client = AsyncBrowser()
        if device_id is None:
            signed_in = await sign_in(client, account)
        else:
            signed_in = await recorded_login(client, account, device_id)
        response = await client.get("/aotp-status/")
        user = await response.asgi_request.auser()
        return signed_in, response, user, pickle.dumps(user)

    signed_in, response, user, pickled = async_to_sync(story)()
    assert signed_in.status_code == 302
    assert signed_in["Location"].startswith("/2fa/verify/")
    assert response.status_code == 302
    assert response["Location"].startswith("/2fa/verify/")
    assert user.is_authenticated and not user.is_verified()
    assert not pickle.loads(pickled).is_verified()
