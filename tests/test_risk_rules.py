"""trust.rules.risk: impossible travel, blocked networks and the action thresholds."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from trust.rules.risk import travel
from trust.rules.risk.blocklist import BlockList
from trust.rules.risk.decision import (
    ALLOW,
    DENY,
    STEP_UP,
    RiskContext,
    SignalResult,
    Thresholds,
    decide,
)
from trust.rules.risk.features import SignInFeatures, short_digest
from trust.rules.risk.score import Score

T0 = datetime(2026, 3, 1, 12, 0)
HOME = SignInFeatures(
    "81.2.69.142", "81.2.69.0/24", "Andrews & Arnold Ltd", "GB", "a" * 32,
    "Firefox", "Ubuntu", "desktop", T0,
)  # fmt: skip


@pytest.mark.parametrize(
    ("a", "b", "hours", "impossible"),
    [
        ("GB", "AU", 2, True),  # ~13,000 km apart
        ("GB", "AU", 30, False),  # a long-haul flight with a stop
        ("DE", "US", 1, True),
        ("DE", "US", 12, False),
        ("JP", "BR", 6, True),
        ("JP", "BR", 26, False),
        ("FR", "DE", 0, False),  # neighbours: a border is minutes away
        ("US", "CA", 0, False),
        ("GB", "GB", 0, False),
        ("IN", "DE", 0.5, True),
        ("IN", "DE", 9, False),
    ],
)
def test_impossible_travel_either_side_of_airliner_speed(a, b, hours, impossible):
    assert travel.impossible_travel(a, T0, b, T0 + timedelta(hours=hours)) is impossible


@pytest.mark.parametrize(
    ("km", "hours", "impossible"),
    [
        (1000, 1, False),  # 1000 km/h, within the margin
        (1301, 1, True),
        (9000, 8, True),
        (9000, 9, False),
        (500, 0, True),
        (300, 0, False),
    ],
)
def test_distance_over_time(km, hours, impossible):
    assert travel.is_impossible(km, hours) is impossible


@pytest.mark.parametrize(
    ("a", "b"),
    [("", "US"), ("US", ""), ("XX", "US"), ("ZZ", "QQ"), ("U", "US"), ("\x00\x00", "US")],
)
def test_unknown_countries_are_never_impossible(a, b):
    assert travel.impossible_travel(a, T0, b, T0) is False


def test_coordinates_come_from_the_package():
    table = travel.countries()
    assert len(table) > 200
    # The United Kingdom, not Wales, though both say GB in countryinfo.
    assert table["GB"].radius_km > 200  # Wales alone: ~80 km


def test_great_circle_london_to_sydney():
    assert travel.great_circle_km(51.5, -0.13, -33.87, 151.21) == pytest.approx(16990, rel=0.01)


BLOCKED = BlockList(["203.0.113.0/24", "2001:db8::/32", "198.51.100.7", "192.0.2.0/25"])


@pytest.mark.parametrize(
    ("ip", "blocked"),
    [
        ("203.0.113.1", True),
        ("203.0.114.1", False),
        ("::ffff:203.0.113.9", True),  # mapped IPv4 is the IPv4 address
        ("2001:db8:1::1", True),
        ("2001:db9::1", False),
        ("198.51.100.7", True),
        ("198.51.100.8", False),
        ("192.0.2.127", True),
        ("192.0.2.128", False),
        ("", False),
        ("not an ip", False),
        ("9" * 10_000, False),
        (None, False),
    ],
)
def test_blocked_networks(ip, blocked):
    assert (ip in BLOCKED) is blocked


def test_a_malformed_block_list_fails_at_configuration():
    with pytest.raises(ValueError):
        BlockList(["203.0.113.0/33"])


def _context(value: float, history: int = 20, unseen=frozenset(), **kwargs) -> RiskContext:
    return RiskContext(features=HOME, score=Score(value, history, frozenset(unseen)), **kwargs)


@pytest.mark.parametrize(
    ("value", "action"),
    [
        (0.0, ALLOW),
        (0.3, ALLOW),
        (0.99, ALLOW),
        (1.0, STEP_UP),
        (50.0, STEP_UP),
        (math.inf, STEP_UP),
    ],
)
def test_score_thresholds(value, action):
    decision = decide(_context(value))
    assert decision.action == action
    assert ("risk_score" in decision.reasons) is (action != ALLOW)


@pytest.mark.parametrize(
    ("value", "action"), [(0.5, ALLOW), (4.9, STEP_UP), (5.0, DENY), (1e9, DENY)]
)
def test_custom_thresholds_with_deny(value, action):
    limits = Thresholds(step_up=1.0, deny=5.0)
    assert decide(_context(value), thresholds=limits).action == action


def test_no_history_is_not_scored():
    assert decide(_context(1e9, history=0)).action == ALLOW


def test_a_trusted_device_is_not_stepped_up_by_the_score_alone():
    assert decide(_context(1e6, trusted_device=True)).action == ALLOW


@pytest.mark.parametrize(
    ("unseen", "trusted", "action", "reasons"),
    [
        ({"country", "asn", "network"}, True, STEP_UP, ("new_country", "new_asn", "new_network")),
        ({"asn", "network"}, True, ALLOW, ("new_asn", "new_network")),
        ({"asn", "network"}, False, STEP_UP, ("new_asn", "new_network")),
        ({"network"}, False, ALLOW, ("new_network",)),
        ({"ip"}, False, ALLOW, ()),
    ],
)
def test_new_values(unseen, trusted, action, reasons):
    decision = decide(_context(0.0, unseen=unseen, trusted_device=trusted))
    assert (decision.action, decision.reasons) == (action, reasons)


def test_blocked_address_is_denied_whatever_the_score():
    decision = decide(_context(0.0), blocked=BlockList(["81.2.69.0/24"]))
    assert (decision.action, decision.reasons) == (DENY, ("blocked_address",))


def test_password_failures_step_up():
    decision = decide(_context(0.0, password_failures=True))
    assert (decision.action, decision.reasons) == (STEP_UP, ("password_failures",))


def test_impossible_travel_steps_up():
    context = _context(0.0, previous_country="AU", previous_at=T0 - timedelta(hours=3))
    assert decide(context).reasons == ("impossible_travel",)
    assert decide(context).action == STEP_UP


def test_possible_travel_does_not():
    context = _context(0.0, previous_country="AU", previous_at=T0 - timedelta(days=2))
    assert decide(context).action == ALLOW


@pytest.mark.parametrize(
    ("result", "action", "reasons"),
    [
        (SignalResult(), ALLOW, ()),
        (SignalResult(("vip_watchlist",), STEP_UP), STEP_UP, ("vip_watchlist",)),
        (SignalResult(("fraud_feed",), DENY), DENY, ("fraud_feed",)),
        (SignalResult(("odd",), "bogus level"), STEP_UP, ("odd",)),  # unknown level: fail closed
    ],
)
def test_site_signals(result, action, reasons):
    decision = decide(_context(0.0), signals=[lambda context: result])
    assert (decision.action, decision.reasons) == (action, reasons)


def test_a_signal_that_raises_fails_closed():
    def broken(context):
        raise RuntimeError("feed down")

    decision = decide(_context(0.0), signals=[broken])
    assert (decision.action, decision.reasons) == (STEP_UP, ("signal_error",))


def test_signals_see_the_context():
    seen = []
    decide(_context(0.2, trusted_device=True), signals=[lambda c: seen.append(c) or SignalResult()])
    assert seen[0].score.value == 0.2 and seen[0].trusted_device and seen[0].features == HOME


def test_the_most_severe_action_wins():
    context = replace(_context(50.0, unseen={"asn"}), password_failures=True)
    decision = decide(context, blocked=BlockList(["81.2.69.142"]))
    assert decision.action == DENY
    assert set(decision.reasons) == {
        "new_asn",
        "blocked_address",
        "password_failures",
        "risk_score",
    }


# --- address blocks and the countries of a trusted device ------------------------

IN_BLOCK = replace(HOME, block="81.2.0.0/16")


@pytest.mark.parametrize(
    ("unseen", "trusted", "history", "action"),
    [
        ({"block", "network", "ip"}, False, 20, STEP_UP),  # the operator's, another block
        ({"network", "ip"}, False, 20, ALLOW),  # another network of a block the user had
        ({"block", "network", "ip"}, True, 20, ALLOW),  # the trusted device vouches
        ({"block", "network", "ip"}, False, 0, ALLOW),  # no history to compare with
    ],
)
def test_an_address_block_new_to_the_user(unseen, trusted, history, action):
    context = RiskContext(
        features=IN_BLOCK,
        score=Score(0.0, history, frozenset(unseen)),
        trusted_device=trusted,
    )
    decision = decide(context)
    assert decision.action == action
    assert ("new_block" in decision.reasons) is (action == STEP_UP)
    assert decide(context, thresholds=Thresholds(new_network_step_up=False)).action == ALLOW


def _on_device(countries, *, previous="GB", share=0.1, trusted=True, unseen=frozenset()):
    return RiskContext(
        features=replace(HOME, country="FR"),
        score=Score(0.0, 20, frozenset(unseen), country_share=share),
        trusted_device=trusted,
        previous_country=previous,
        previous_at=T0 - timedelta(days=3),
        device_countries=frozenset(countries),
    )


@pytest.mark.parametrize(
    ("context", "action"),
    [
        # The user was in France before, but never with this device: a copy?
        (_on_device({"GB"}), STEP_UP),
        (_on_device({"GB", "FR"}), ALLOW),  # this device has been to France
        (_on_device(set()), ALLOW),  # nothing recorded yet (trust from before)
        (_on_device({"GB"}, previous="FR"), ALLOW),  # the user's last sign-in was there
        (_on_device({"GB"}, share=0.6), ALLOW),  # most of their sign-ins are there
        (_on_device({"GB"}, trusted=False), ALLOW),  # no device to speak of
    ],
)
def test_a_trusted_device_in_a_country_it_was_never_used_in(context, action):
    decision = decide(context)
    assert decision.action == action
    assert ("new_device_country" in decision.reasons) is (action == STEP_UP)
    off = Thresholds(new_country_on_device=False)
    assert decide(context, thresholds=off).action == ALLOW


def test_a_country_new_to_the_user_is_one_reason_not_two():
    decision = decide(_on_device({"GB"}, unseen={"country"}))
    assert decision.action == STEP_UP
    assert "new_country" in decision.reasons and "new_device_country" not in decision.reasons


def test_a_score_that_failed_fails_closed():
    """The wiring answers a score it could not compute as not a number."""
    decision = decide(RiskContext(features=HOME, score=Score(math.nan, 0)))
    assert (decision.action, decision.reasons) == (STEP_UP, ("risk_score",))


@pytest.mark.parametrize(("users", "action"), [(None, STEP_UP), (49, ALLOW), (50, STEP_UP)])
def test_the_score_waits_for_a_population(users, action):
    """On a site of a handful of users the population is those users: their
    own usual sign-ins score high. The rules apply meanwhile."""
    context = RiskContext(features=HOME, score=Score(5.0, 20, users=users))
    assert decide(context).action == action
    blocked = BlockList(["81.2.69.0/24"])
    assert decide(context, blocked=blocked).action == DENY


# --- a trusted device on an operator it was never used on -------------------------

# A copied cookie in the victim's own country, on another ISP: BT, not the
# victim's Andrews & Arnold, in a block (/16) the victim never signed in from.
ELSEWHERE = replace(HOME, ip="86.128.1.2", network="86.128.1.0/24", asn="BT", block="86.128.0.0/16")


def _copied(asns, *, unseen=("ip", "network", "asn", "block"), trusted=True, features=ELSEWHERE):
    return RiskContext(
        features=features,
        score=Score(0.0, 20, frozenset(unseen), country_share=1.0),
        trusted_device=trusted,
        previous_country="GB",
        previous_at=T0 - timedelta(days=1),
        device_countries=frozenset({"GB"}),
        device_asns=frozenset(short_digest(a) for a in asns),
    )


@pytest.mark.parametrize(
    ("context", "action"),
    [
        # The device only ever signed in on Andrews & Arnold: a copy on BT.
        (_copied({"Andrews & Arnold Ltd"}), STEP_UP),
        # The device has been on BT before (an office, a café): it fits.
        (_copied({"Andrews & Arnold Ltd", "BT"}), ALLOW),
        # A block the user signed in from with another device (their phone
        # at the same café): fits the user's history.
        (_copied({"Andrews & Arnold Ltd"}, unseen=("ip", "network", "asn")), ALLOW),
        # Nothing recorded (a device trusted before the record was kept, and
        # no address of it an operator is known for): not checked.
        (_copied(set()), ALLOW),
        # No trusted device: the rules for untrusted sign-ins apply instead.
        (_copied({"Andrews & Arnold Ltd"}, trusted=False), STEP_UP),
    ],
)
def test_a_trusted_device_on_an_operator_it_was_never_used_on(context, action):
    decision = decide(context)
    assert decision.action == action
    if context.trusted_device:
        assert ("new_device_network" in decision.reasons) is (action == STEP_UP)
        off = Thresholds(new_network_on_device=False)
        assert decide(context, thresholds=off).action == ALLOW


def test_an_address_no_table_gives_an_operator_is_no_alibi_for_a_device():
    """SECURITY: a public address without an operator, in a block the user
    never had: the copy cannot hide in unplaced space."""
    unplaced = replace(ELSEWHERE, asn="")
    assert decide(_copied({"Andrews & Arnold Ltd"}, features=unplaced)).action == STEP_UP
    no_address = replace(ELSEWHERE, ip="", network="", asn="", block="")
    assert decide(_copied({"Andrews & Arnold Ltd"}, features=no_address)).action == STEP_UP


def test_the_sites_own_network_never_counts_against_a_device():
    local = replace(ELSEWHERE, ip="10.1.2.3", network="10.1.2.0/24", asn="", block="10.1.0.0/16")
    assert decide(_copied({"Andrews & Arnold Ltd"}, features=local)).action == ALLOW


def test_a_device_in_a_new_country_is_one_reason_not_two():
    abroad = replace(ELSEWHERE, country="FR", asn="Orange", block="90.0.0.0/16")
    context = replace(
        _copied({"Andrews & Arnold Ltd"}, features=abroad),
        score=Score(0.0, 20, frozenset({"ip", "network", "asn", "block"}), country_share=0.0),
    )
    decision = decide(context)
    assert decision.action == STEP_UP
    assert "new_device_country" in decision.reasons
    assert "new_device_network" not in decision.reasons
