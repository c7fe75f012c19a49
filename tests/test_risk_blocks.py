"""The address block of the ``new_block`` rule, with plain values: an IPv4
/16, an IPv6 /40 (a carrier hands one phone /64s from several neighbouring
/48s; docs/risk.md, "Defaults", has the measured trade-off)."""

from __future__ import annotations

from datetime import datetime

import pytest

from trust.rules.risk import geo
from trust.rules.risk.counts import CountStore
from trust.rules.risk.decision import ALLOW, NEW_BLOCK, STEP_UP, RiskContext, decide
from trust.rules.risk.features import SignInFeatures
from trust.rules.risk.score import score

T0 = datetime(2026, 3, 1, 12, 0)
# One carrier's phone: successive /64s in three /48s of one /40.
PHONE = ("2a01:598:a8c1:1c::1", "2a01:598:a8c4:77::2", "2a01:598:a8c9:3::3")


@pytest.mark.parametrize(
    ("ip", "block"),
    [
        ("2a01:598:a8c1:1c::1", "2a01:598:a800::/40"),
        ("2a01:598:a8ff:ffff:ffff:ffff:ffff:ffff", "2a01:598:a800::/40"),
        ("2a01:598:a900::1", "2a01:598:a900::/40"),  # the next /40
        ("81.2.69.142", "81.2.0.0/16"),  # IPv4 keeps the /16
        ("::ffff:81.2.69.142", "81.2.0.0/16"),  # a mapped IPv4 is the IPv4
        ("not an address", ""),
        ("", ""),
    ],
)
def test_the_block_is_a_16_or_a_40(ip, block):
    assert geo.locate(ip).block == block


def _features(ip: str, agent: str = "a" * 32) -> SignInFeatures:
    where = geo.locate(ip)
    return SignInFeatures(
        where.ip, where.network, where.asn, where.country, agent,
        "Chrome Mobile", "Android", "mobile", T0, where.block,
    )  # fmt: skip


def _decide_after(history: list[str], ip: str) -> tuple[str, tuple[str, ...]]:
    store = CountStore()
    for i, address in enumerate(history * 10):
        store.add("me", _features(address))
        store.add(f"other-{i}", _features(f"81.{i % 200}.1.1", "b" * 32))  # a population
    decision = decide(
        RiskContext(features=_features(ip), score=score(_features(ip), store.view("me")))
    )
    return decision.action, decision.reasons


def test_a_new_48_of_the_phones_40_owes_no_code():
    action, reasons = _decide_after(list(PHONE[:2]), PHONE[2])
    assert NEW_BLOCK not in reasons
    assert action == ALLOW


def test_another_40_of_the_same_carrier_owes_a_code():
    """An attacker on the victim's carrier, outside the /40 the phone uses."""
    action, reasons = _decide_after(list(PHONE), "2a01:598:b000:1::1")
    assert geo.locate("2a01:598:b000:1::1").asn == geo.locate(PHONE[0]).asn
    assert NEW_BLOCK in reasons
    assert action == STEP_UP


def test_another_16_of_the_same_isp_still_owes_a_code():
    action, reasons = _decide_after(["86.128.1.1", "86.128.9.1"], "86.140.1.1")
    assert geo.locate("86.140.1.1").asn == geo.locate("86.128.1.1").asn
    assert NEW_BLOCK in reasons
    assert action == STEP_UP
