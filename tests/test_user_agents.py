"""User agents are the client's to write: bounded, cleaned, and always classified."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.agents import CHROME_WINDOWS, GOOGLEBOT
from tests.conftest import browser, sign_in, step_up
from tests.data import NO_FULL_CORPUS, USER_AGENT_SAMPLE, full_user_agent_corpus, read_agents
from trust.models import SecurityEvent, TrustedDevice
from trust.rules.fingerprint import (
    BOT,
    DEVICE_CLASSES,
    FAMILY_MAX_LENGTH,
    OTHER,
    clean_user_agent,
    fingerprint,
    parse_agent,
)

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def assert_sane(fp) -> None:
    agent = fp.agent
    assert agent.device_class in DEVICE_CLASSES
    for family in (agent.browser, agent.os):
        assert family and len(family) <= FAMILY_MAX_LENGTH
        assert not CONTROL.search(family)
    assert agent.name


# --- the corpus and arbitrary strings -------------------------------------------


@pytest.mark.parametrize("corpus", ["sample", "whole"])
def test_every_real_user_agent_gives_a_stable_fingerprint(corpus):
    path = USER_AGENT_SAMPLE if corpus == "sample" else full_user_agent_corpus()
    if path is None:
        pytest.skip(NO_FULL_CORPUS)
    lines = read_agents(path)
    assert len(lines) >= 3000
    for line in lines:
        fp = fingerprint(line, "203.0.113.5")
        assert_sane(fp)
    # Stable: parsed afresh (no cache), a sample gives the same agent again.
    for line in lines[::10]:
        cleaned = clean_user_agent(line, 512)
        assert parse_agent.__wrapped__(cleaned) == fingerprint(line, None).agent


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=600), st.binary(max_size=600)))
def test_any_string_gives_a_fingerprint_the_same_each_time(user_agent):
    first = fingerprint(user_agent, "198.51.100.1")
    assert_sane(first)
    cleaned = clean_user_agent(user_agent, 512)
    assert len(cleaned) <= 512 and not CONTROL.search(cleaned)
    assert parse_agent.__wrapped__(cleaned) == first.agent
    assert fingerprint(user_agent, "198.51.100.1") == first


@settings(max_examples=100, deadline=None)
@given(
    prefix=st.sampled_from([CHROME_WINDOWS, GOOGLEBOT, "", "Mozilla/5.0 ("]),
    junk=st.text(min_size=1, max_size=40),
)
def test_anything_past_the_bound_changes_nothing(prefix, junk):
    base = (prefix + "x" * 600)[:512]
    assert fingerprint(base + junk, None) == fingerprint(base, None)


def test_a_100_kb_user_agent_is_cut_before_parsing():
    # Proof by what is parsed, not by a stopwatch (make bench measures cost):
    # only the first 512 characters ever reach the parser.
    for huge in ("A" * 100_000, "Mozilla/5.0 (" + "(" * 100_000, CHROME_WINDOWS * 800):
        assert_sane(fingerprint(huge, None))
        assert fingerprint(huge, None) == fingerprint(huge[:512], None)
        assert clean_user_agent(huge, 512) == huge[:512].strip()


def test_bots_and_unknown_agents_have_their_own_class():
    assert fingerprint(GOOGLEBOT, None).agent.device_class == BOT
    bingbot = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
    assert fingerprint(bingbot, None).agent.device_class == BOT
    for unknown in ("", None, "zzzz", "\x00\x01", "   "):
        agent = fingerprint(unknown, None).agent
        assert agent.device_class == OTHER, unknown
    assert fingerprint("", None).agent.name == "Unknown device"
    assert fingerprint(CHROME_WINDOWS, None).agent.device_class not in (BOT, OTHER)


# --- through the whole flow, into the database ------------------------------------


def _trust_with(account, user_agent):
    client = browser(user_agent)
    assert sign_in(client, account).status_code == 302
    assert client.get("/").status_code == 302
    assert step_up(client, account, trust=True).status_code == 302
    assert client.get("/devices/").status_code == 200
    device = TrustedDevice.objects.filter(user=account.user).first()
    # An agent that says nothing about itself is never trusted.
    assert (device is None) == (not fingerprint(user_agent, "").agent.known)
    return client, device


def _assert_stored_clean(account, device):
    if device is not None:
        for value in (device.user_agent, device.browser, device.os, device.device_class):
            assert not CONTROL.search(value), repr(value)
        assert len(device.user_agent) <= 512
    for event in SecurityEvent.objects.filter(user=account.user):
        assert not CONTROL.search(event.device_name)


@pytest.mark.django_db
def test_100_kb_user_agent_through_a_whole_sign_in(account):
    huge = CHROME_WINDOWS + " " + "x" * 100_000
    # What it costs is the benchmark's to measure (make bench), not a test's.
    _client, device = _trust_with(account, huge)
    assert len(device.user_agent) <= 512
    assert device.name == "Chrome on Windows"
    _assert_stored_clean(account, device)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "user_agent",
    [
        "Mozilla/5.0\x00 (Windows NT 10.0; Win64; x64) Chrome/120.0.0.0 Safari/537.36",
        "\x00" * 600,
        "Mozilla/5.0 (Windows NT 10.0)\r\nX-Injected: yes\x1b[31m\x7f\x85\x9f",
        "\t\n\x0b\x0c\r",
        GOOGLEBOT + "\x00",
        "",
    ],
)
def test_control_characters_never_reach_the_database(account, user_agent):
    _client, device = _trust_with(account, user_agent)
    _assert_stored_clean(account, device)


@pytest.mark.django_db
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(user_agent=st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=700))
def test_arbitrary_header_values_through_a_whole_sign_in(make_user, user_agent):
    # What a WSGI server can hand over: latin-1 text of any length.
    account = make_user()
    _client, device = _trust_with(account, user_agent)
    _assert_stored_clean(account, device)


@pytest.mark.django_db
def test_a_bot_user_agent_is_not_the_browser_that_was_trusted(account, clock):
    from datetime import timedelta

    client, _device = _trust_with(account, CHROME_WINDOWS)
    client.post("/accounts/logout/")
    clock.shift(timedelta(seconds=31))
    client.defaults["HTTP_USER_AGENT"] = GOOGLEBOT
    sign_in(client, account)
    response = client.get("/", HTTP_ACCEPT="application/json")
    assert response.status_code == 401
    assert response.json()["reasons"] == ["fingerprint_mismatch"]
