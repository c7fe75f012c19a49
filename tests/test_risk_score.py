"""trust.rules.risk.score: Freeman et al.'s score over the Counts API."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from trust.rules.risk.counts import CountStore
from trust.rules.risk.features import SignInFeatures
from trust.rules.risk.score import AGENT_GROUP, IP_GROUP, UNSCORED, score

AT = datetime(2026, 3, 1, 12, 0)
HOME = SignInFeatures(
    ip="81.2.69.142",
    network="81.2.69.0/24",
    asn="Andrews & Arnold Ltd",
    country="GB",
    user_agent="a" * 32,
    browser="Firefox",
    os="Ubuntu",
    device_class="desktop",
    at=AT,
)
# Another address in the user's network, another network of the same
# operator, another operator in the same country, another country.
SAME_NETWORK = replace(HOME, ip="81.2.69.7")
SAME_ASN = replace(HOME, ip="81.2.70.9", network="81.2.70.0/24")
SAME_COUNTRY = replace(HOME, ip="51.1.1.1", network="51.1.1.0/24", asn="BT")
ABROAD = replace(HOME, ip="8.8.8.8", network="8.8.8.0/24", asn="GOOGLE", country="US")


def _population(store: CountStore) -> None:
    """A site with other users in GB and the US, on the same kinds of browsers."""
    for i in range(60):
        other = replace(
            HOME,
            ip=f"51.1.{i}.1",
            network=f"51.1.{i}.0/24",
            asn="BT" if i % 2 else "Sky",
            country="GB" if i % 3 else "US",
            user_agent=f"{i:032d}",
            browser="Chrome" if i % 2 else "Firefox",
        )
        for _ in range(5):
            store.add(f"other-{i}", other)


def _store(history: list[SignInFeatures]) -> CountStore:
    store = CountStore()
    _population(store)
    for features in history:
        store.add("me", features)
    return store


def _scores(attempt: SignInFeatures, histories: dict[str, list[SignInFeatures]]) -> dict:
    """``attempt`` scored against several users' histories kept in one store:
    the site-wide counts are the same for every one of them."""
    store = CountStore()
    _population(store)
    for user, history in histories.items():
        for features in history:
            store.add(user, features)
    return {user: score(attempt, store.view(user)).value for user in histories}


def test_weights_of_each_group_add_up_to_one():
    for group in (IP_GROUP, AGENT_GROUP):
        assert sum(w for _, w in group) == pytest.approx(1.0, abs=0.01)


def test_no_history_scores_zero_and_says_so():
    result = score(HOME, _store([]).view("me"))
    assert (result.value, result.history) == (0.0, 0)


@pytest.mark.parametrize("size", [1, 5, 20, 40])
def test_a_value_never_seen_scores_riskier_than_one_seen(size):
    s = _scores(HOME, {"seen": [HOME] * size, "never": [ABROAD] * size})
    assert s["never"] > s["seen"]


@pytest.mark.parametrize("times", [1, 2, 5, 20])
def test_the_more_often_seen_the_lower_the_score(times):
    # The same history length, the attempt's values seen more or less often.
    fewer = [HOME] * times + [ABROAD] * (40 - times)
    more = [HOME] * (times + 5) + [ABROAD] * (35 - times)
    s = _scores(HOME, {"fewer": fewer, "more": more})
    assert s["more"] < s["fewer"]


@pytest.mark.parametrize("size", [3, 10, 40])
def test_smoothing_unseen_ip_in_a_seen_asn_scores_between(size):
    s = _scores(
        HOME,
        {
            "ip": [HOME] * size,
            "network": [SAME_NETWORK] * size,  # HOME's /24, not its address
            "asn": [SAME_ASN] * size,  # HOME's operator, not its /24
            "country": [SAME_COUNTRY] * size,  # HOME's country, not its operator
            "nothing": [ABROAD] * size,
        },
    )
    assert s["ip"] < s["network"] < s["asn"] < s["country"] < s["nothing"]


@pytest.mark.parametrize("size", [2, 20])
def test_a_new_browser_on_a_known_network_scores_between(size):
    chrome = replace(HOME, user_agent="b" * 32, browser="Chrome")
    windows = replace(chrome, os="Windows", device_class="mobile")
    s = _scores(HOME, {"same": [HOME] * size, "browser": [chrome] * size, "os": [windows] * size})
    assert s["same"] < s["browser"] < s["os"]


def test_unseen_features_are_named():
    result = score(SAME_COUNTRY, _store([HOME] * 5).view("me"))
    assert result.unseen == {"ip", "network", "asn"}


def test_every_score_is_finite_and_positive_with_history():
    store = _store([HOME, SAME_ASN])
    for attempt in (HOME, SAME_NETWORK, SAME_ASN, SAME_COUNTRY, ABROAD, replace(HOME, ip="")):
        value = score(attempt, store.view("me")).value
        assert 0 < value < float("inf")


def test_counts_are_read_one_value_at_a_time():
    """The later database Counts costs a bounded number of indexed reads."""
    store = _store([HOME] * 3)
    calls: list[str] = []

    class Recording:
        def __getattr__(self, name):
            method = getattr(store.view("me"), name)

            def read(*args):
                calls.append(name)
                return method(*args)

            return read

    score(ABROAD, Recording())
    per_level = len(IP_GROUP) + len(AGENT_GROUP)
    assert calls.count("population") == per_level
    # The user's side also reads the features counted but not scored.
    assert calls.count("user") == per_level + len(UNSCORED)
    assert len(calls) <= 4 * (per_level + len(UNSCORED))
