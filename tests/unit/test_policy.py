"""``trust.policy``: the recognition rule, plain values in, an assessment out."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from trust.rules import policy
from trust.rules.fingerprint import Agent, Fingerprint

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
IDLE = timedelta(days=14)
CHROME_WINDOWS = Agent("Chrome", "Windows", "desktop")


@dataclass(frozen=True)
class Device:
    """A plain stand-in for ``TrustedDevice``: what the policy reads of it."""

    agent: Agent = CHROME_WINDOWS
    network: str = "203.0.113.0/24"
    last_seen_at: datetime = NOW - timedelta(days=1)
    expires_at: datetime = NOW + timedelta(days=20)
    revoked_at: datetime | None = None


def seen(agent: Agent = CHROME_WINDOWS, network: str = "203.0.113.0/24") -> Fingerprint:
    return Fingerprint(agent=agent, ip=network.split("/")[0], network=network)


def assess(device, fingerprint=None) -> policy.Assessment:
    return policy.assess(device, fingerprint or seen(), NOW, idle_timeout=IDLE)


def test_the_device_as_it_was_trusted_is_recognized():
    assert assess(Device()) == policy.Assessment(True)


@pytest.mark.parametrize(
    ("device", "reasons"),
    [
        (None, (policy.NEW_DEVICE,)),
        (Device(revoked_at=NOW - timedelta(hours=1)), (policy.REVOKED_TOKEN,)),
        (Device(expires_at=NOW), (policy.EXPIRED,)),
        (Device(expires_at=NOW - timedelta(seconds=1)), (policy.EXPIRED,)),
        (Device(last_seen_at=NOW - IDLE), (policy.IDLE, policy.EXPIRED)),
    ],
    ids=["no-device", "revoked", "expires-now", "expired", "idle"],
)
def test_trust_that_is_over_is_not_recognized(device, reasons):
    assert assess(device) == policy.Assessment(False, reasons)


def test_idle_is_measured_from_last_use_not_from_trust():
    just_in_time = Device(last_seen_at=NOW - IDLE + timedelta(seconds=1))
    assert assess(just_in_time).recognized


@pytest.mark.parametrize(
    "other",
    [
        Agent("Firefox", "Windows", "desktop"),
        Agent("Chrome", "Linux", "desktop"),
        Agent("Chrome", "Windows", "mobile"),
        Agent("Chrome", "Windows", "bot"),
    ],
    ids=["browser", "os", "device-class", "bot"],
)
def test_a_live_secret_from_another_kind_of_browser_is_a_mismatch(other):
    assert assess(Device(), seen(other)) == policy.Assessment(False, (policy.FINGERPRINT_MISMATCH,))


@pytest.mark.parametrize(
    "unknown",
    [Agent("Other", "Other", "other"), Agent("Other", "Other", "desktop")],
)
def test_an_agent_that_says_nothing_is_never_recognized(unknown):
    device = Device(agent=unknown)
    assert assess(device, seen(unknown)) == policy.Assessment(False, (policy.UNKNOWN_DEVICE,))


def test_an_agent_that_says_nothing_is_refused_before_anything_else():
    # Even with a revoked device: nothing about the device is revealed first.
    unknown = Agent("Other", "Other", "other")
    revoked = Device(revoked_at=NOW)
    assert assess(revoked, seen(unknown)).reasons == (policy.UNKNOWN_DEVICE,)


def test_a_new_network_is_recorded_and_allowed():
    moved = seen(network="198.51.100.0/24")
    assert assess(Device(), moved) == policy.Assessment(True, (policy.NEW_NETWORK,))


def test_a_device_without_a_recorded_network_is_not_a_new_network():
    assert assess(Device(network=""), seen(network="198.51.100.0/24")) == policy.Assessment(True)


def test_revocation_is_checked_before_the_fingerprint():
    revoked = replace(Device(), revoked_at=NOW)
    other = seen(Agent("Firefox", "Linux", "desktop"))
    assert assess(revoked, other).reasons == (policy.REVOKED_TOKEN,)
