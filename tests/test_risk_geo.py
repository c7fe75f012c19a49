"""trust.rules.risk.geo: offline country and ASN lookups, total on any input.

These run on the default source, the data shipped in geoip2fast, whose
"ASN" is the operator's name; tests/test_geo_data.py loads MMDB files."""

from __future__ import annotations

import pytest

from trust.rules.risk import geo


@pytest.mark.parametrize(
    ("ip", "country"),
    [
        ("8.8.8.8", "US"),  # Google Public DNS
        ("81.2.69.142", "GB"),  # Andrews & Arnold
        ("200.147.67.142", "BR"),  # UOL
        ("133.242.0.3", "JP"),  # SAKURA Internet
        ("41.203.64.1", "NG"),  # Globacom
        ("2001:4860:4860::8888", "US"),  # Google Public DNS over IPv6
        ("::ffff:81.2.69.142", "GB"),  # IPv4-mapped IPv6 is the IPv4 address
    ],
)
def test_country_of_public_addresses(ip, country):
    assert geo.country_of(ip) == country
    assert geo.locate(ip).country == country


@pytest.mark.parametrize(
    ("ip", "asn"),
    [
        ("8.8.8.8", "GOOGLE"),
        ("2001:4860:4860::8888", "GOOGLE"),
        ("81.2.69.142", "Andrews & Arnold Ltd"),
        ("133.242.0.3", "SAKURA Internet Inc."),
    ],
)
def test_asn_of_public_addresses(ip, asn):
    assert geo.asn_of(ip) == asn


@pytest.mark.parametrize(
    "ip",
    [
        "10.1.2.3",  # private
        "192.168.0.1",
        "172.16.5.4",
        "127.0.0.1",  # loopback
        "::1",
        "fe80::1",  # link-local
        "fe80::1%eth0",
        "169.254.1.1",
        "100.64.0.1",  # carrier-grade NAT shared space
        "203.0.113.9",  # documentation
        "2001:db8::1",
        "0.0.0.0",
        "255.255.255.255",
        "224.0.0.1",  # multicast
        "::ffff:10.0.0.1",  # mapped private
    ],
)
def test_non_global_addresses_are_unknown(ip):
    where = geo.locate(ip)
    assert (where.country, where.asn) == (geo.UNKNOWN, geo.UNKNOWN)


@pytest.mark.parametrize(
    "ip",
    [
        None,
        "",
        " ",
        "not an ip",
        "1.2.3",
        "1.2.3.4.5",
        "256.1.1.1",
        "8.8.8.8/24",
        "8.8.8.8:443",
        "[2001:4860:4860::8888]",
        "2001:4860:4860::8888::1",
        "8.8.8.8\x00",
        "\u0661.\u0662.\u0663.\u0664",  # Arabic-Indic digits
        "9" * 10_000,
        "\ud800",  # a lone surrogate
    ],
)
def test_malformed_input_never_raises(ip):
    where = geo.locate(ip)
    assert where == geo.Location("", "", geo.UNKNOWN, geo.UNKNOWN)
    assert geo.country_of(ip) == geo.asn_of(ip) == geo.UNKNOWN


def test_network_is_the_24_or_the_64():
    assert geo.locate("81.2.69.142").network == "81.2.69.0/24"
    assert geo.locate("2a00:1450:4001:80b::200e").network == "2a00:1450:4001:80b::/64"
