"""The address-block and device-country rules against hostile sign-ins:
addresses no table places, devices with nothing recorded, history counted
before a feature existed, a score that fails, parallel writers (a hostile
review's findings, each fixed, and the attacks that held)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.agents import CHROME_WINDOWS
from tests.conftest import browser, sign_in, step_up
from tests.test_risk_read import latest_success
from tests.test_risk_sign_in import (
    DE,
    DE_OTHER_NETWORK,
    FR,
    at,
    history_at_home,
    json_reasons,
    mailed_code,
    sign_out,
    signed_in,
    trusted_in,
)
from tests.test_theft_evident_tokens import copy_of
from trust.flows import device_origins
from trust.models import EventKind, RiskCount, SecurityEvent, SignInAttempt, TrustedDevice

# 6to4 (2002::/16) wrapping the Japanese address JP (203.178.141.194): a
# global address to Python's ipaddress, in no RIR delegation file, so its
# country (and operator) is unknown; reachable through any 6to4 relay.
SIX_TO_FOUR_JP = "2002:cbb2:8dc2::1"
# Teredo (2001::/32) through a server in 80.128/16: not global, so unknown too.
TEREDO = "2001:0:5080:1::1"


@pytest.fixture(autouse=True)
def _behind_a_proxy(settings):
    settings.TRUST_PROXY_COUNT = 1
    settings.TRUST_PROXY_NETWORKS = ["127.0.0.1/32"]


def visited_france_on_the_phone(account, clock):
    """The desktop trusted at home (DE), a phone trusted once in France, then
    three sign-ins at home on the desktop: France is neither the user's last
    country nor half of their sign-ins, and the desktop never was there."""
    desktop = trusted_in(account, clock, DE)
    clock.shift(timedelta(days=3))
    trusted_in(account, clock, FR)
    clock.shift(timedelta(days=3))
    for _ in range(3):
        sign_in(at(desktop, DE), account)
        assert desktop.get("/").status_code == 200
        sign_out(desktop, clock)
    clock.shift(timedelta(days=2))
    return desktop


def desktop_device(account) -> TrustedDevice:
    return TrustedDevice.objects.filter(user=account.user, revoked_at__isnull=True).order_by(
        "created_at"
    )[0]


# --- a sign-in whose country is unknown is never checked ------------------------


@pytest.mark.parametrize("where", [SIX_TO_FOUR_JP, TEREDO])
def test_a_copied_cookie_from_an_address_without_a_country_owes_a_code(account, clock, where):
    """6to4 is unwrapped to the Japanese IPv4 it carries; a Teredo address
    whose client no table places is unknown, and a device with known
    countries owes a code for an unknown one (fail closed)."""
    desktop = trusted_in(account, clock, DE)
    for _ in range(3):
        sign_in(at(desktop, DE), account)
        sign_out(desktop, clock)
    assert desktop_device(account).countries == "DE"
    clock.shift(timedelta(days=2))

    thief = at(copy_of(desktop), where)
    sign_in(thief, account)
    assert not (signed_in(thief) and thief.get("/").status_code == 200), (
        "a copied cookie from an address of unknown country was let in without a code"
    )


# --- a device with no countries recorded is not checked, and is seeded ----------


def test_a_device_without_recorded_countries_falls_back_on_its_addresses(account, clock):
    """A device trusted before its countries were kept: the countries of its
    first and last addresses stand in, so a copy in a country the user once
    visited on another device owes a code, and records nothing."""
    desktop = visited_france_on_the_phone(account, clock)
    device = desktop_device(account)
    TrustedDevice.objects.filter(pk=device.pk).update(countries="")  # trusted before 0012

    thief = at(copy_of(desktop), FR)
    sign_in(thief, account)
    let_in = signed_in(thief) and thief.get("/").status_code == 200
    device.refresh_from_db()
    assert not let_in, (
        f"legacy device let a copy in from FR; its record is now {device.countries!r}"
    )
    assert "FR" not in device.countries


def test_a_device_at_home_on_6to4_is_placed_by_the_ipv4_it_carries(account, clock):
    """A home network on 6to4 (wrapping 80.128.0.1, Germany): the device's
    record says DE, and a copy of its cookie in France owes a code."""
    home = "2002:5080:1::1"
    desktop = at(browser(), home)
    sign_in(desktop, account)
    assert step_up(desktop, account, trust=True).status_code == 302
    sign_out(desktop, clock)
    clock.shift(timedelta(days=3))
    trusted_in(account, clock, FR)  # a trip to France, on the phone
    clock.shift(timedelta(days=3))
    for _ in range(3):  # back home
        sign_in(at(desktop, home), account)
        assert desktop.get("/").status_code == 200
        sign_out(desktop, clock)
    clock.shift(timedelta(days=2))
    assert desktop_device(account).countries == "DE"

    thief = at(copy_of(desktop), FR)
    sign_in(thief, account)
    assert not (signed_in(thief) and thief.get("/").status_code == 200)


# --- users whose history predates the block feature -----------------------------


def _forget_blocks(user):
    """The counts as they stand after upgrading from a release that did not
    count blocks: no ``block`` rows, no distinct counter of them."""
    RiskCount.objects.filter(feature="block").delete()
    RiskCount.objects.filter(feature="*distinct", value="block").delete()


def test_history_from_before_blocks_were_counted_is_no_new_block(make_user, clock, mailoutbox):
    """A block the user's history cannot speak to is not new: after an
    upgrade, users at home are not all sent codes."""
    carol = make_user("carol", totp=False)
    history_at_home(carol, clock)
    _forget_blocks(carol.user)
    client = at(browser(), DE)  # the same address as ever
    sign_in(client, carol)
    assert client.get("/").status_code == 200 and not mailoutbox, json_reasons(client)


def test_history_from_before_blocks_were_counted_locks_nobody_out(make_user, clock, settings):
    """With TRUST_RISK_NO_EMAIL = "deny", a user without an address on file
    is still let in at home after an upgrade (a refusal is never counted, so
    a block taken for new would stay new for ever)."""
    settings.TRUST_RISK_NO_EMAIL = "deny"
    dave = make_user("dave", totp=False)
    dave.user.email = ""
    dave.user.save()
    history_at_home(dave, clock)
    _forget_blocks(dave.user)
    outcomes = []
    for _ in range(3):
        client = at(browser(), DE)
        sign_in(client, dave)
        outcomes.append(SignInAttempt.objects.filter(user=dave.user).first().outcome)
        clock.shift(timedelta(seconds=31))
    assert outcomes == ["allowed"] * 3, outcomes


# --- the block rule's step-up, passed, raises no alert --------------------------


def test_a_passed_code_for_a_new_address_block_is_an_alert(make_user, clock, mailoutbox):
    """The block rule has a reason of its own (``new_block``), not the device
    policy's "new network": a code passed for it is an alert, as for new_asn."""
    carol = make_user("carol", totp=False)
    history_at_home(carol, clock)
    elsewhere = at(browser(), DE_OTHER_NETWORK)
    sign_in(elsewhere, carol)
    assert json_reasons(elsewhere) == ["new_network", "new_block"]
    assert elsewhere.post("/2fa/verify/", {"otp_token": mailed_code(mailoutbox)}).status_code == 302
    assert SecurityEvent.objects.filter(
        user=carol.user, kind=EventKind.RISKY_SIGN_IN_PASSED
    ).exists(), "a new address block passed with an e-mailed code left no alert"


# --- the address block is stored in clear -----------------------------------------


def test_address_blocks_are_stored_as_keyed_digests(make_user, clock):
    """Like the IP and the network: the counts hold no address."""
    carol = make_user("carol", totp=False)
    history_at_home(carol, clock, times=1)
    stored = set(RiskCount.objects.filter(feature="block").values_list("value", flat=True))
    assert stored and "80.128.0.0/16" not in stored, stored


# --- countries are lost by a re-trust racing a sign-in ---------------------------


def test_parallel_writers_of_a_devices_countries_lose_none(account, clock):
    """Two writers from stale copies of one device row: each country is kept
    (a compare-and-swap on the record as read)."""
    trusted_in(account, clock, DE)
    first = desktop_device(account)
    second = TrustedDevice.objects.get(pk=first.pk)  # read before either write
    device_origins.remember_country(first, "FR")
    device_origins.remember_country(second, "IT")
    first.refresh_from_db()
    assert set(first.countries.split()) == {"DE", "FR", "IT"}, first.countries


# --- what held ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "where",
    ["::ffff:90.0.0.1", "::FFFF:5a00:1", "[::ffff:90.0.0.1]", "90.0.0.1:443", "64:ff9b::5a00:1"],
)
def test_held_mapped_or_dressed_up_france_is_france(account, clock, where):
    """IPv4-mapped, bracketed, with a port, NAT64: the country is found and
    the device rule fires for the copied desktop cookie."""
    desktop = visited_france_on_the_phone(account, clock)
    thief = at(copy_of(desktop), where)
    sign_in(thief, account)
    assert "new_device_country" in json_reasons(thief)


@pytest.mark.parametrize(
    "forwarded",
    [
        "fe80::1%eth0",
        "2003::1%25eth0",
        "::ffff:100.64.1.1",
        "100.64.1.1",
        "127.0.0.2",
        "\x00",
        "1" * 10_000,
        ",,,,",
        "90.0.0.1, " * 2000,
        "[" * 70,
        "%",
    ],
)
@pytest.mark.parametrize("agent", [CHROME_WINDOWS, CHROME_WINDOWS + "\x00\u2028" * 5000])
def test_held_hostile_addresses_and_agents_never_fail_a_trusted_sign_in(
    account, clock, forwarded, agent
):
    desktop = trusted_in(account, clock, DE)
    thief = copy_of(desktop, agent)
    thief.defaults["HTTP_X_FORWARDED_FOR"] = forwarded
    # The held cookie is the trusted browser's: the password alone lets it in.
    response = sign_in(thief, account)
    assert response.status_code == 302 and response["Location"] == "/"
    assert thief.get("/").status_code == 200


def test_held_a_thief_cannot_grow_the_device_record_without_a_code(account, clock):
    """A stepped-up (or failed) sign-in records nothing on the device, and
    does not become the user's "last sign-in" country."""
    desktop = visited_france_on_the_phone(account, clock)
    for _ in range(3):
        thief = at(copy_of(desktop), FR)
        sign_in(thief, account)
        assert "new_device_country" in json_reasons(thief)
        clock.shift(timedelta(seconds=31))
    assert desktop_device(account).countries == "DE"
    assert latest_success(account.user).country == "DE"
