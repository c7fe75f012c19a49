"""A copied trusted-device cookie in the victim's own country (issue 22):
it owes a code unless the sign-in fits the device's history (an operator
the device signed in on, or an address block the user signed in from on
any device). Addresses through a configured proxy (X-Forwarded-For)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import browser, sign_in, step_up
from tests.test_risk_sign_in import at, json_reasons, sign_out, trusted_in
from tests.test_theft_evident_tokens import copy_of
from trust.flows import device_origins
from trust.models import SignInAttempt, TrustedDevice
from trust.rules.risk import geo
from trust.rules.risk.features import short_digest

HOME = "80.128.0.1"  # Deutsche Telekom, Germany: the victim's home line
HOME_AGAIN = "80.128.7.9"  # the same line's block, another address
CAFE = "92.72.0.1"  # Vodafone, Germany: a café's line (another ISP)
CAFE_AGAIN = "92.72.3.4"  # the same café block, another address
THIEF = "77.0.0.1"  # Telefonica Germany: the thief's ISP, same country
PHONE_CARRIER = "46.114.0.1"  # Telefonica Germany, another block (the user's phone)


@pytest.fixture(autouse=True)
def _behind_a_proxy(settings):
    settings.TRUST_PROXY_COUNT = 1
    settings.TRUST_PROXY_NETWORKS = ["127.0.0.1/32"]


def laptop_at_home(account, clock):
    """A laptop trusted at home and used there a few times, signed out."""
    laptop = trusted_in(account, clock, HOME)
    for _ in range(3):
        sign_in(at(laptop, HOME_AGAIN), account)
        assert laptop.get("/").status_code == 200
        sign_out(laptop, clock)
    return laptop


def test_the_device_record_keeps_the_operators_it_signed_in_on(account, clock):
    laptop_at_home(account, clock)
    device = TrustedDevice.objects.get(user=account.user)
    assert device.asns == short_digest(geo.asn_of(HOME))
    assert device_origins.device_asns(device) == {short_digest("Deutsche Telekom AG")}


def test_a_copied_cookie_in_the_victims_country_on_another_isp_owes_a_code(account, clock):
    laptop = laptop_at_home(account, clock)
    thief = at(copy_of(laptop), THIEF)  # same country, same browser, another ISP
    sign_in(thief, account)
    assert thief.get("/")["Location"].startswith("/2fa/verify/")  # a code is owed
    reasons = json_reasons(thief)
    assert "new_device_network" in reasons and "new_country" not in reasons
    page = thief.get("/2fa/verify/").content.decode()
    assert "an internet provider this device was never used on" in page
    [attempt] = SignInAttempt.objects.filter(user=account.user, ip=THIEF)
    assert (attempt.outcome, attempt.risk_action) == ("stepped_up", "step_up")
    device = TrustedDevice.objects.get(user=account.user)
    assert device.revoked_at is None  # a step-up, not a revocation
    assert short_digest(geo.asn_of(THIEF)) not in device.asns  # nothing learnt from it

    sign_in(at(laptop, HOME), account)  # the owner, at home: let in
    assert laptop.get("/").status_code == 200


def test_a_roaming_laptop_owes_one_code_per_new_cafe_then_is_let_in_there(account, clock):
    laptop = laptop_at_home(account, clock)
    sign_in(at(laptop, CAFE), account)
    assert "new_device_network" in json_reasons(laptop)
    assert step_up(laptop, account, trust=True).status_code == 302  # trusted anew
    sign_out(laptop, clock)
    device = TrustedDevice.objects.get(user=account.user, revoked_at__isnull=True)
    assert set(device.asns.split()) == {
        short_digest(geo.asn_of(HOME)),
        short_digest(geo.asn_of(CAFE)),
    }  # carried over from the trust it replaced, with the café's

    clock.shift(timedelta(days=5))
    for where in (CAFE_AGAIN, HOME, CAFE):  # the café again, home, the café
        sign_in(at(laptop, where), account)
        assert laptop.get("/").status_code == 200, where
        sign_out(laptop, clock)


def test_a_block_the_user_had_on_another_device_fits(account, clock):
    """The user's phone passed a code on the carrier's block; the laptop
    tethered to the phone (same block) is the user, not a copy."""
    laptop = laptop_at_home(account, clock)
    phone = at(browser(), PHONE_CARRIER)
    sign_in(phone, account)
    assert step_up(phone, account, trust=False).status_code == 302
    sign_out(phone, clock)

    sign_in(at(laptop, PHONE_CARRIER), account)
    assert laptop.get("/").status_code == 200


def test_parallel_writers_of_a_devices_operators_lose_none(account, clock):
    """Two writers from stale copies of one device row: each operator (and
    country) is kept: a compare-and-swap on the record as read."""
    laptop_at_home(account, clock)
    first = TrustedDevice.objects.get(user=account.user)
    second = TrustedDevice.objects.get(pk=first.pk)  # read before either write
    device_origins.remember_origin(first, "DE", "Vodafone GmbH")
    device_origins.remember_origin(second, "FR", "Orange")
    first.refresh_from_db()
    assert set(first.asns.split()) == {
        short_digest(geo.asn_of(HOME)),
        short_digest("Vodafone GmbH"),
        short_digest("Orange"),
    }
    assert set(first.countries.split()) == {"DE", "FR"}


def test_a_device_keeps_its_latest_sixteen_operators():
    asns = ""
    for n in range(20):
        asns = device_origins.with_asn(asns, f"AS{n}")
    kept = asns.split()
    assert len(kept) == device_origins.MAX_DEVICE_ASNS == 16
    assert kept[-1] == short_digest("AS19") and short_digest("AS3") not in kept
    assert len(asns) <= TrustedDevice._meta.get_field("asns").max_length
    assert device_origins.with_asn(asns, "") == asns  # no operator: nothing added
