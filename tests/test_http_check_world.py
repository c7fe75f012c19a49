"""The independent HTTP check's world (bench/http_check/world.py) is placed
where it says: every range in its stated country, on its stated operator,
by the geolocation data the demo uses (geoip2fast's shipped GeoLite2),
read directly, not through Trustgate."""

from __future__ import annotations

import ipaddress
import os
import random
from functools import cache

import pytest

from bench.http_check import world

geoip2fast = pytest.importorskip("geoip2fast")


@cache
def _db():
    path = os.path.join(os.path.dirname(geoip2fast.__file__), "geoip2fast-asn-ipv6.dat.gz")
    return geoip2fast.GeoIP2Fast(geoip2fast_data_file=path)


def _samples(cidr: str) -> list[str]:
    """An address in every /24 of an IPv4 range (hosts from 1 to 253 in
    turn), or up to 4096 /48s spread across an IPv6 prefix."""
    net = ipaddress.ip_network(cidr)
    if net.version == 4:
        size = min(256, net.num_addresses)
        base = int(net.network_address)
        return [
            str(ipaddress.IPv4Address(base + offset + 1 + (offset // size * 37) % (size - 3)))
            for offset in range(0, net.num_addresses, size)
        ]
    sub = max(48, net.prefixlen)
    count = 1 << (sub - net.prefixlen)
    stride = max(1, count // 4096)
    return [
        str(net.network_address + (index << (128 - sub)) + 1) for index in range(0, count, stride)
    ]


def _misplaced(op: world.Operator, cidr: str) -> list[tuple[str, str, str]]:
    wrong = []
    for address in _samples(cidr):
        if world.in_hole(op, address):
            continue
        found = _db().lookup(address)
        name = found.asn_name or ""
        if found.country_code != op.country or op.geo_name.lower() not in name.lower():
            wrong.append((address, found.country_code, name))
    return wrong


@pytest.mark.parametrize(
    "op,cidr",
    [(op, cidr) for op in world.OPERATORS for cidr in op.v4 + op.v6],
    ids=lambda value: value.name if isinstance(value, world.Operator) else value,
)
def test_every_range_is_placed_in_its_country_and_on_its_operator(op, cidr):
    wrong = _misplaced(op, cidr)
    assert not wrong, f"{op.name} {cidr}: {len(wrong)} misplaced, e.g. {wrong[:3]}"


def test_every_hole_is_a_slash24_of_its_ranges_that_the_data_places_elsewhere():
    for op in world.OPERATORS:
        for hole in op.holes:
            net = ipaddress.ip_network(hole)
            assert net.prefixlen == 24
            assert any(net.subnet_of(ipaddress.ip_network(cidr)) for cidr in op.v4), hole
            found = _db().lookup(str(net.network_address + 1))
            assert op.geo_name.lower() not in (found.asn_name or "").lower() or (
                found.country_code != op.country
            ), hole


def test_the_world_has_twelve_countries_each_with_fixed_mobile_and_hosting():
    assert len(world.COUNTRIES) == 12
    for country in world.COUNTRIES:
        assert len(world.operators(country, world.FIXED)) >= 2, country
        assert world.operators(country, world.MOBILE), country
        assert world.operators(country, world.HOSTING), country


def test_a_fixed_isp_has_more_than_one_slash16_for_the_other_slash16_attacker():
    for op in world.OPERATORS:
        if op.kind == world.FIXED:
            assert len(world.slash16s(op)) > 1, op.name


def test_drawn_addresses_stay_inside_their_operator():
    rng = random.Random(20)
    for op in world.OPERATORS:
        nets = world.networks(op)
        for _ in range(20):
            address = ipaddress.IPv4Address(world.address_in(rng, op))
            assert any(address in net for net in nets), (op.name, address)


def test_browsers_send_reduced_user_agents_and_update_to_the_next_major():
    seen = world.browsers()
    assert len({b.user_agent for b in seen}) == len(seen)
    for browser in seen:
        assert browser.updated != browser.user_agent
        if "Chrome/" in browser.user_agent and "SamsungBrowser" not in browser.user_agent:
            assert ".0.0.0 " in browser.user_agent + " "  # the frozen minor version
        if "Windows" in browser.user_agent:
            assert "Windows NT 10.0; Win64; x64" in browser.user_agent
        if "Android" in browser.user_agent:
            assert "(Linux; Android 10; K)" in browser.user_agent
