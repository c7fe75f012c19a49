"""trust.rules.risk.score: Freeman et al.'s score over the Counts API."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# --- the reference's formulas on a population small enough to do by hand -----

ME = SignInFeatures(
    ip="192.0.2.1",
    network="192.0.2.0/24",
    asn="AS-X",
    country="GB",
    user_agent="u" * 32,
    browser="Firefox",
    os="Ubuntu",
    device_class="desktop",
    at=AT,
)
# The other user: another origin (address, network, operator, country) and
# another browser on the same OS and device class.
OTHER = replace(
    ME,
    ip="198.51.100.1",
    network="198.51.100.0/24",
    asn="AS-Y",
    country="US",
    user_agent="v" * 32,
    browser="Chrome",
)
# An origin nobody on the site has signed in from, with my browser.
NOBODYS = replace(ME, ip="203.0.113.1", network="203.0.113.0/24", asn="AS-Z", country="FR")


def _two_users() -> CountStore:
    """Two users, two sign-ins each: N = 4, U = 2, N_u = 2."""
    store = CountStore()
    for _ in range(2):
        store.add("me", ME)
        store.add("other", OTHER)
    return store


# Worked by hand from the reference's formulas (docs/risk.md, "The score"):
#   p(u|A) / p(u|L) = (1/2) / (2/4) = 1
#   distinct values: network 2, ASN 2, country 2; browser 2, OS 1, class 1
#   M (unseen slots, M_hk unrolled): ip 1+2+2+2 = 7, network 1+2+2 = 5,
#     ASN 1+2 = 3, country 1; user agent 1+2+1+1 = 5, browser 1+1+1 = 3,
#     OS 1+1 = 2, class 1
# IP group, a value with c sign-ins at every level:
#   p(x) = 0.45 c/11 + 0.15 c/9 + 0.3 c/7 + 0.1 c/5
#   c = 2 (mine or the other's): 0.0818182 + 0.0333333 + 0.0857143 + 0.04 = 0.2408658
#   c = 0 (nobody's), p0 = 1/(N+M): 0.0409091 + 0.0166667 + 0.0428571 + 0.02 = 0.1204329
# Agent group, my browser: user agent 2 of 4, Firefox 2, Ubuntu 4, desktop 4:
#   p(x) = 0.5386654·2/9 + 0.2680451·2/7 + 0.1881830·4/6 + 0.0051065·4/5
#        = 0.1197034 + 0.0765843 + 0.1254553 + 0.0040852 = 0.3258283
# My side, my own values: every level seen 2 of 2 times: Σ w = 1.
# My side, an origin I never used at any level: p(x) / 4 (``get_unseen_values``).
HAND = {
    "home": 1 * (0.2408658 / 1) * (0.3258283 / 1),  # 0.0784809
    "nobodys": 1 * 4 * (0.3258283 / 1),  # 1.3033130
    "the_others": 1 * 4 * (0.3258283 / 1),  # 1.3033130
}


def test_the_score_matches_the_reference_worked_by_hand():
    view = _two_users().view("me")
    assert score(ME, view).value == pytest.approx(HAND["home"], rel=1e-6)
    assert score(NOBODYS, view).value == pytest.approx(HAND["nobodys"], rel=1e-6)
    assert score(replace(OTHER, user_agent=ME.user_agent, browser=ME.browser), view).value == (
        pytest.approx(HAND["the_others"], rel=1e-6)
    )


def test_the_factors_multiply_to_the_score_and_name_each_group():
    result = score(NOBODYS, _two_users().view("me"))
    assert [name for name, _ in result.factors] == ["user", "ip", "user_agent"]
    factors = dict(result.factors)
    assert factors["user"] == pytest.approx(1.0)
    assert factors["ip"] == pytest.approx(4.0)  # never seen by me: global / 4
    assert factors["user_agent"] == pytest.approx(0.3258283, rel=1e-6)
    product = 1.0
    for _, factor in result.factors:
        product *= factor
    assert product == pytest.approx(result.value)
    terms = {name: (pop, mine) for name, pop, mine in result.terms}
    assert terms["ip"] == pytest.approx((1 / 11, 0.0))
    assert terms["country"] == pytest.approx((1 / 5, 0.0))
    assert terms["user_agent"] == pytest.approx((2 / 9, 1.0))


def test_an_origin_nobody_used_scores_no_lower_than_one_others_use():
    """The independent check's case: the victim's exact browser from a
    country and operator nobody on the site has signed in from. The old
    floor scored it half as risky as the other user's origin."""
    view = _two_users().view("me")
    nobodys = score(NOBODYS, view).value
    the_others = score(replace(OTHER, user_agent=ME.user_agent, browser=ME.browser), view).value
    assert nobodys >= the_others
    assert nobodys > 0.3  # over the default step-up


# --- monotone: a property over small random populations ----------------------

_ORIGINS = [
    replace(
        ME,
        ip=f"10.{n}.{a}.1",
        network=f"10.{n}.{a}.0/24",
        asn=f"AS-{n}",
        country=("GB", "US", "DE")[n % 3],
    )
    for n in range(4)
    for a in range(2)
]
_AGENTS = [
    replace(ME, user_agent=f"{i}" * 32, browser=b, os=o, device_class=d)
    for i, (b, o, d) in enumerate(
        [
            ("Firefox", "Ubuntu", "desktop"),
            ("Chrome", "Windows", "desktop"),
            ("Safari", "iOS", "mobile"),
            ("Chrome", "Android", "mobile"),
        ]
    )
]


def _at(origin: SignInFeatures, agent: SignInFeatures) -> SignInFeatures:
    return replace(
        agent, ip=origin.ip, network=origin.network, asn=origin.asn, country=origin.country
    )


@given(
    population=st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 7), st.integers(0, 3)), min_size=1, max_size=40
    ),
    mine=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 3)), min_size=1, max_size=12),
    agent=st.integers(0, 3),
)
@settings(max_examples=300, deadline=None)
def test_property_no_origin_others_use_outscores_one_nobody_used(population, mine, agent):
    """Over any small population: with the same browser, a sign-in from an
    origin nobody on the site ever used scores at least as high as one from
    any origin others use and the user never used at any level (address,
    network, operator, country). (Freeman's score is a ratio of the site's
    frequency to the user's; with the reference's global / 4 for a group the
    user never saw, that group's factor is 4 whatever the site's counts.)"""
    store = CountStore()
    for user, origin, ua in population:
        store.add(f"user-{user}", _at(_ORIGINS[origin], _AGENTS[ua]))
    for origin, ua in mine:
        store.add("me", _at(_ORIGINS[origin], _AGENTS[ua]))
    view = store.view("me")
    attempt_agent = _AGENTS[agent]
    fresh = score(_at(NOBODYS, attempt_agent), view).value
    for origin in _ORIGINS:
        if any(view.user(name, origin.value(name)) for name, _ in IP_GROUP):
            continue  # the user has some level of it: not "an origin others use"
        assert fresh >= score(_at(origin, attempt_agent), view).value * (1 - 1e-12)
