"""``trust.rules.fingerprint``: user agent and IP in, a fingerprint out."""

from __future__ import annotations

import pytest

from tests.agents import CHROME_WINDOWS, SAFARI_IPHONE
from trust.rules.fingerprint import Agent, clean_user_agent, fingerprint


@pytest.mark.parametrize(
    ("ip", "network"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("::ffff:203.0.113.77", "203.0.113.0/24"),  # IPv4-mapped: the IPv4 network
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::1", "2001:db8:1:2::/64"),
        ("127.0.0.1", "127.0.0.0/24"),
        ("", ""),
        (None, ""),
        ("203.0.113", ""),
        ("203.0.113.256", ""),
        ("fe80::1%eth0", "fe80::/64"),  # the zone is not part of the address
        ("x" * 10_000, ""),
        ("203.0.113.7\x00", ""),
    ],
)
def test_the_network_of_an_address(ip, network):
    assert fingerprint(CHROME_WINDOWS, ip).network == network


@pytest.mark.parametrize(("v4", "v6"), [(16, 48), (32, 128), (0, 0)])
def test_network_sizes_are_parameters(v4, v6):
    seen = fingerprint(CHROME_WINDOWS, "203.0.113.77", ipv4_prefix=v4, ipv6_prefix=v6)
    assert seen.network.endswith(f"/{v4}")
    seen6 = fingerprint(CHROME_WINDOWS, "2001:db8::1", ipv4_prefix=v4, ipv6_prefix=v6)
    assert seen6.network.endswith(f"/{v6}")


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        (CHROME_WINDOWS, Agent("Chrome", "Windows", "desktop")),
        (SAFARI_IPHONE, Agent("Mobile Safari", "iOS", "mobile")),
    ],
)
def test_an_agent_is_its_families_and_device_class(agent, expected):
    seen = fingerprint(agent, "203.0.113.7").agent
    assert (seen.browser, seen.device_class) == (expected.browser, expected.device_class)


def test_browser_versions_do_not_change_the_agent():
    newer = CHROME_WINDOWS.replace("Chrome/120.0.0.0", "Chrome/142.0.7444.60")
    assert newer != CHROME_WINDOWS
    assert fingerprint(newer, None).agent == fingerprint(CHROME_WINDOWS, None).agent


@pytest.mark.parametrize(
    "raw", ["", None, b"\xff\xfe\x00garbage", "\x00" * 100, "x" * 100_000, "\ud800"]
)
def test_any_user_agent_gives_an_agent_and_never_raises(raw):
    seen = fingerprint(raw, "203.0.113.7")
    assert isinstance(seen.agent, Agent)


def test_user_agents_are_cut_and_lose_control_characters():
    cleaned = clean_user_agent("Mozilla\x00/5.0\x1b[31m" + "x" * 1000, 64)
    assert len(cleaned) <= 64
    assert not any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in cleaned)
