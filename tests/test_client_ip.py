"""The client IP: forwarded headers only from the site's own proxies.

Every IP header is the client's to write. Garbage in any of them must never
reach the database (PostgreSQL's ``inet`` rejects it) nor cause a 500.
"""

from __future__ import annotations

import ipaddress

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.agents import CHROME_WINDOWS
from tests.conftest import browser, sign_in, step_up
from trust.client_ip import client_ip
from trust.models import SecurityEvent, TrustedDevice

PROXIES = ["10.0.0.0/8", "fd00::/8"]
SPOOF_HEADERS = [
    "HTTP_X_REAL_IP",
    "HTTP_TRUE_CLIENT_IP",
    "HTTP_CF_CONNECTING_IP",
    "HTTP_X_CLIENT_IP",
    "HTTP_FORWARDED",
    "HTTP_X_CLUSTER_CLIENT_IP",
    "HTTP_CLIENT_IP",
]


def ip_of(remote="198.51.100.20", forwarded=None, **headers) -> str:
    meta = {"REMOTE_ADDR": remote, **headers}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **meta))


@pytest.fixture
def behind_proxy(settings):
    settings.TRUST_PROXY_COUNT = 1
    settings.TRUST_PROXY_NETWORKS = PROXIES


def test_without_proxy_settings_every_forwarding_header_is_ignored():
    spoofed = dict.fromkeys(SPOOF_HEADERS, "203.0.113.66")
    assert ip_of(forwarded="203.0.113.66", **spoofed) == "198.51.100.20"


def test_right_most_hop_from_a_trusted_proxy_is_the_client(behind_proxy):
    # The client wrote "6.6.6.6"; the proxy appended who really connected.
    assert ip_of("10.1.2.3", "6.6.6.6, 203.0.113.5") == "203.0.113.5"
    assert ip_of("10.1.2.3", "6.6.6.6,203.0.113.5") == "203.0.113.5"
    assert ip_of("fd00::1", "6.6.6.6, 2001:db8::5") == "2001:db8::5"


def test_forwarded_header_from_outside_the_proxy_networks_is_ignored(behind_proxy):
    assert ip_of("198.51.100.20", "203.0.113.5") == "198.51.100.20"
    assert ip_of("198.51.100.20", "10.1.2.3") == "198.51.100.20"


def test_other_headers_are_ignored_even_behind_the_proxy(behind_proxy):
    spoofed = dict.fromkeys(SPOOF_HEADERS, "6.6.6.6")
    assert ip_of("10.1.2.3", "203.0.113.5", **spoofed) == "203.0.113.5"
    assert ip_of("10.1.2.3", None, **spoofed) == "10.1.2.3"


def test_two_proxies_read_the_second_hop_from_the_right(settings):
    settings.TRUST_PROXY_COUNT = 2
    settings.TRUST_PROXY_NETWORKS = PROXIES
    assert ip_of("10.0.0.2", "6.6.6.6, 203.0.113.5, 10.0.0.1") == "203.0.113.5"
    # A chain shorter than the proxies: nothing the client wrote is believed.
    assert ip_of("10.0.0.2", "203.0.113.5") == "10.0.0.2"


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("::ffff:198.51.100.20", None, "198.51.100.20"),
        ("::ffff:10.1.2.3", "203.0.113.5", "203.0.113.5"),  # mapped proxy still a proxy
        ("10.1.2.3", "::ffff:203.0.113.5", "203.0.113.5"),
        ("10.1.2.3", "203.0.113.5:8080", "203.0.113.5"),
        ("10.1.2.3", "[2001:db8::1]:443", "2001:db8::1"),
        ("10.1.2.3", "2001:DB8:0:0::1", "2001:db8::1"),
        ("10.1.2.3", "fe80::1%eth0", "fe80::1"),
    ],
)
def test_addresses_are_normalized(behind_proxy, remote, forwarded, expected):
    assert ip_of(remote, forwarded) == expected


@pytest.mark.parametrize(
    "forwarded",
    [
        "",
        "garbage",
        "unknown",
        "203.0.113.5,",
        "999.1.1.1",
        "1.2.3.4\x00",
        "1.2.3.4; DROP TABLE",
        ", , ,",
        "1" * 10_000,
        "," * 10_000,
        "\u0661.\u0662.\u0663.\u0664",  # Arabic-Indic digits
        "<script>",
    ],
)
def test_garbage_forwarded_header_falls_back_to_the_proxy(behind_proxy, forwarded):
    assert ip_of("10.1.2.3", forwarded) == "10.1.2.3"


@pytest.mark.parametrize(
    "remote", ["", None, "garbage", "1.2.3.4\x00", "999.0.0.1", "1" * 10_000, "::ffff:"]
)
def test_garbage_remote_addr_is_no_address(behind_proxy, remote):
    meta = {"HTTP_X_FORWARDED_FOR": "203.0.113.5"}
    request = RequestFactory().get("/", **meta)
    request.META["REMOTE_ADDR"] = remote
    assert client_ip(request) == ""


def test_malformed_proxy_settings_are_refused_not_guessed_at(settings):
    # SECURITY: a malformed proxy setting believes no header: it stops the
    # request with ImproperlyConfigured (and the start-up, in TrustConfig.ready).
    for name, bad in [
        ("TRUST_PROXY_COUNT", "1"),
        ("TRUST_PROXY_NETWORKS", "10.0.0.0/8"),
        ("TRUST_PROXY_NETWORKS", ["not a network"]),
    ]:
        settings.TRUST_PROXY_COUNT, settings.TRUST_PROXY_NETWORKS = 1, PROXIES
        setattr(settings, name, bad)
        with pytest.raises(ImproperlyConfigured, match=name):
            ip_of("10.1.2.3", "203.0.113.5")


def valid_or_empty(value: str) -> bool:
    if value == "":
        return True
    ipaddress.ip_address(value)
    return str(ipaddress.ip_address(value)) == value


header_text = st.one_of(
    st.text(max_size=120),
    st.ip_addresses().map(str),
    st.lists(st.one_of(st.ip_addresses().map(str), st.text(max_size=20)), max_size=6).map(
        ", ".join
    ),
)


@settings(max_examples=300, deadline=None)
@given(remote=header_text, forwarded=header_text, other=header_text, count=st.integers(0, 3))
def test_any_header_gives_a_canonical_ip_or_nothing(remote, forwarded, other, count):
    from django.test import override_settings

    with override_settings(TRUST_PROXY_COUNT=count, TRUST_PROXY_NETWORKS=["0.0.0.0/0", "::/0"]):
        request = RequestFactory().get("/")
        request.META.update(
            REMOTE_ADDR=remote,
            HTTP_X_FORWARDED_FOR=forwarded,
            **dict.fromkeys(SPOOF_HEADERS, other),
        )
        assert valid_or_empty(client_ip(request))


latin1 = st.text(alphabet=st.characters(max_codepoint=0xFF, blacklist_categories=("Cs",)))


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(remote=latin1, forwarded=latin1)
def test_garbage_ip_headers_through_a_whole_sign_in_never_reach_the_database(
    make_user, django_settings_proxy, remote, forwarded
):
    account = make_user()
    client = browser(REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded, HTTP_X_REAL_IP=forwarded)
    assert sign_in(client, account).status_code == 302
    assert client.get("/").status_code == 302
    assert step_up(client, account, trust=True).status_code == 302
    assert client.get("/devices/").status_code == 200

    device = TrustedDevice.objects.get(user=account.user)
    for value in (device.first_ip, device.last_ip):
        assert value is None or valid_or_empty(value)
    for event in SecurityEvent.objects.filter(user=account.user):
        assert event.ip is None or valid_or_empty(event.ip)


@pytest.fixture
def django_settings_proxy(settings):
    # Every connection is "a proxy": the forwarded header is always read.
    settings.TRUST_PROXY_COUNT = 1
    settings.TRUST_PROXY_NETWORKS = ["0.0.0.0/0", "::/0"]


def test_forwarded_ip_is_what_gets_recorded_behind_the_proxy(account, behind_proxy):
    client = browser(REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5")
    sign_in(client, account)
    step_up(client, account, trust=True)
    device = TrustedDevice.objects.get(user=account.user)
    assert (device.first_ip, device.network) == ("203.0.113.5", "203.0.113.0/24")
    assert SecurityEvent.objects.filter(ip="203.0.113.5", kind="device_trusted").exists()


@pytest.mark.django_db
def test_stored_user_agent_fits_the_column(account):
    client = browser(CHROME_WINDOWS + " " + "x" * 3000)
    sign_in(client, account)
    assert step_up(client, account, trust=True).status_code == 302
    assert len(TrustedDevice.objects.get(user=account.user).user_agent) == 512
