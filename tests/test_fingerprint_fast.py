"""The fast parsing path classifies real user agents as user-agents does.

``trust.rules.fingerprint`` builds user-agents' ``UserAgent`` from ua-parser 1.x
(Rust regexes) instead of letting it parse through ua-parser's legacy API
(Python regexes). Same regex file, same classification code: on the real
corpus the two agree, except where the Rust engine recognizes a crawler
that Python's ``re`` misses.
"""

from __future__ import annotations

import pytest
import user_agents

from tests.data import NO_FULL_CORPUS, USER_AGENT_SAMPLE, full_user_agent_corpus, read_agents
from trust.rules import fingerprint as fp


def device_class(parsed) -> str:
    """The class ``parse_agent`` derives, from a user-agents object."""
    if parsed.is_bot:
        return fp.BOT
    if parsed.is_tablet:
        return fp.TABLET
    if parsed.is_mobile:
        return fp.MOBILE
    if parsed.is_pc:
        return fp.DESKTOP
    return fp.OTHER


def classify(parsed) -> tuple[str, str, str]:
    return parsed.browser.family, parsed.os.family, device_class(parsed)


def test_fast_path_is_a_user_agents_user_agent():
    parsed = fp.parse_user_agent(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
    )
    assert isinstance(parsed, user_agents.parsers.UserAgent)
    assert parsed.is_mobile and parsed.is_touch_capable and not parsed.is_pc
    assert parsed.browser.family == "Mobile Safari" and parsed.browser.version[:2] == (17, 4)
    assert str(parsed) == "iPhone / iOS 17.4 / Mobile Safari 17.4"


@pytest.mark.parametrize("hostile", ["", " ", "\x00", "(((((", "Mozilla/5.0 " * 40, "é" * 512])
def test_fast_path_agrees_on_odd_strings(hostile):
    assert classify(fp.parse_user_agent(hostile)) == classify(user_agents.parse(hostile))
    assert fp.parse_user_agent(hostile).device == user_agents.parse(hostile).device


def assert_classified_as_user_agents_does(agents: list[str]) -> None:
    crawlers_only_rust_finds = []
    for ua in agents:
        fast, legacy = fp.parse_user_agent(ua), user_agents.parse(ua)
        if (fast.browser, fast.os, fast.device) == (legacy.browser, legacy.os, legacy.device):
            assert classify(fast) == classify(legacy)
            continue
        # The one known difference: a device regex for crawlers that the
        # Rust engine matches and Python's re does not. Everything else the
        # same: browser, OS, versions.
        assert (fast.browser, fast.os) == (legacy.browser, legacy.os), ua
        assert (fast.device.family, legacy.device.family) == ("Spider", "Other"), ua
        assert device_class(fast) == fp.BOT, ua
        crawlers_only_rust_finds.append(ua)
    # 6 of 17,816 in the corpus as of this writing; allow it to grow a little.
    assert len(crawlers_only_rust_finds) <= max(10, len(agents) // 1000)


def test_real_user_agents_are_classified_as_user_agents_does():
    assert_classified_as_user_agents_does(read_agents(USER_AGENT_SAMPLE))


def test_the_whole_corpus_is_classified_as_user_agents_does():
    path = full_user_agent_corpus()
    if path is None:
        pytest.skip(NO_FULL_CORPUS)
    assert_classified_as_user_agents_does(read_agents(path))


def test_a_lone_surrogate_takes_the_slow_path_to_the_same_answer():
    odd = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0 \ud800"
    assert classify(fp.parse_user_agent(odd)) == classify(user_agents.parse(odd))
    assert fp.parse_agent(odd).browser == "Firefox"


def test_parse_agent_never_raises_and_names_stay_bounded():
    for ua in ["", "\x00\x01", "Mozilla/5.0 (" * 2000, "\ud800", "A" * 600]:
        agent = fp.parse_agent(fp.clean_user_agent(ua, 512))
        assert len(agent.browser) <= fp.FAMILY_MAX_LENGTH
        assert agent.device_class in fp.DEVICE_CLASSES
