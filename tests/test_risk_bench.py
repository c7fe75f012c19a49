"""python -m bench.rba: a short run prints every row for both seeds; the
simulator's pure pieces (the ISP table, IPv6 prefix rotation, the browser
release trains, the per-reason attribution) do what the docs say."""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import replace
from types import SimpleNamespace

from bench.rba import browsers, isps, ranges
from bench.rba.__main__ import main
from bench.rba.evaluate import (
    LEGIT,
    LEGIT_ROAMING,
    MAX_DEVICE_ASNS,
    Run,
    Sample,
    _Kept,
    _measure,
    rates,
    reasons,
    remember,
    stopped,
    trusted_anew,
)
from bench.rba.population import DAY, START, Device
from trust.flows.device_origins import with_asn
from trust.rules.fingerprint import DESKTOP, parse_agent
from trust.rules.risk import geo
from trust.rules.risk.counts import CountStore
from trust.rules.risk.decision import Thresholds
from trust.rules.risk.features import SignInFeatures, short_digest

# attackers + legitimate, its roaming laptops and browser update + the 2FA extra
ROWS_PER_HISTORY = 9 + 3 + 1


def test_quick_evaluation_prints_every_row_for_both_seeds(capsys):
    assert main(["--quick", "--users", "300", "--days", "60", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "seed 3" in out and "seed 20" in out  # tuning and held-out, both printed
    rows = [line for line in out.splitlines() if re.match(r"\| (1|5|20|40) \| ", line)]
    # Per seed: the shares table and the per-reason table.
    assert len(rows) == 2 * (4 * ROWS_PER_HISTORY + 4 * (ROWS_PER_HISTORY - 1))
    assert any("residential proxy in the victim's /16" in row for row in rows)
    assert any("browser update asked" in row for row in rows)
    assert any("the victim's mobile carrier over IPv6" in row for row in rows)
    shares = [float(s) / 100 for row in rows for s in re.findall(r"([\d.]+)% \(n=", row)]
    assert shares and all(0.0 <= share <= 1.0 for share in shares)
    assert "2FA users' extra codes over device recognition alone" in out
    assert "new_network_on_device=True" in out
    assert any("roaming laptop" in row for row in rows)
    assert "block new to the user (default)" in out  # the device history's curve
    assert "µs" in out  # the cost table


# --- the ISP table ----------------------------------------------------------


def test_block_sweep_prints_one_row_per_ipv6_block_and_marks_the_default(capsys):
    assert main(["--quick", "--users", "150", "--days", "40", "--blocks"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| /")]
    assert [row.split(" ")[1] for row in rows] == ["/48", "/44", "/40", "/36", "/32"]
    assert [row for row in rows if "(default)" in row] == [rows[2]]  # /40
    assert geo.BLOCK_IPV6_PREFIX == 40  # the sweep put the default back


def test_isp_table_has_no_hosting_cloud_or_transit_operator():
    homes = isps.home_operators()
    assert not homes & set(isps.HOSTING)
    for name in homes:
        assert not any(word in name.upper() for word in isps.NOT_A_HOME), name


def test_isp_table_covers_twelve_countries_with_fixed_and_mobile_shares():
    assert len(isps.COUNTRIES) >= 12
    assert len({c.code for c in isps.COUNTRIES}) == len(isps.COUNTRIES)
    for country in isps.COUNTRIES:
        assert country.fixed and country.mobile, country.code
        for share in (*(s for _, s in country.fixed), *(s for _, s in country.mobile)):
            assert 0 < share <= 1
        assert abs(sum(s for _, s in country.fixed) - 1) < 0.05, country.code
        assert abs(sum(s for _, s in country.mobile) - 1) < 0.05, country.code
        assert 0 <= country.ipv6_fixed <= 1 and 0 <= country.ipv6_mobile <= 1


# --- IPv6 homes ---------------------------------------------------------------

ISP_32 = ranges.Range(6, int.from_bytes(bytes.fromhex("2a010598" + "00" * 12)), 32)


def test_prefix_rotation_without_moves_stays_in_the_homes_48():
    rng = random.Random(1)
    block = ISP_32.first + 77 * ranges.BLOCK_48
    prefix = ranges.home_prefix(rng, block)
    seen = {prefix}
    for _ in range(500):
        prefix = ranges.rotate_prefix(rng, prefix, ISP_32, move=0.0)
        assert prefix >> 80 == block >> 80  # same /48
        assert prefix % ranges.PREFIX_56 == 0  # a /56 boundary
        seen.add(prefix)
    assert len(seen) > 100  # it does rotate


def test_prefix_rotation_never_leaves_the_isps_range():
    rng = random.Random(2)
    prefix = ranges.home_prefix(rng, ISP_32.first)
    moved = 0
    for _ in range(500):
        new = ranges.rotate_prefix(rng, prefix, ISP_32, move=0.5)
        assert new in ISP_32 and new != prefix
        moved += new >> 80 != prefix >> 80
        prefix = new
    assert moved > 100


def test_prefix_rotation_in_a_range_smaller_than_a_56_keeps_the_prefix():
    tiny = ranges.Range(6, ISP_32.first, 60)
    assert ranges.rotate_prefix(random.Random(3), tiny.first, tiny, move=1.0) == tiny.first


def test_the_lan_64_is_inside_the_delegated_56():
    prefix = ISP_32.first + 5 * ranges.PREFIX_56
    for subnet in (0, 1, 255):
        lan = ranges.lan_network(prefix, subnet)
        assert prefix <= lan < prefix + ranges.PREFIX_56 and lan % (1 << 64) == 0


# --- browsers -----------------------------------------------------------------


def test_reduced_user_agents_change_every_release_and_keep_their_family():
    for browser in browsers.BROWSERS:
        strings = [browser.at(day) for day in range(0, 150)]
        changes = sum(a != b for a, b in itertools.pairwise(strings))
        assert 1 <= changes <= 6, browser.name  # every four to eight weeks
        families = {parse_agent(s) for s in strings}
        assert len(families) == 1, browser.name  # an update is not a new browser
        assert "Other" not in (*families,)[0].browser


def test_chrome_sends_the_reduced_string():
    chrome = next(b for b in browsers.BROWSERS if b.name == "chrome-windows")
    assert chrome.at(20) == (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/144.0.0.0 Safari/537.36"
    )
    assert "Chrome/145.0.0.0" in chrome.at(40)


# --- attribution ----------------------------------------------------------------


def _sample(**kwargs: object) -> Sample:
    base = dict(
        who="targeted",
        history=20,
        two_factor=False,
        cookie=False,
        score=0.01,
        rules=False,
        new_country=False,
        new_asn=False,
        new_block=False,
        new_device_country=False,
        users=1000,
    )
    base.update(kwargs)
    return Sample(**base)  # type: ignore[arg-type]


def test_reasons_name_every_rule_that_asks_and_only_those():
    limits = Thresholds()
    sample = _sample(new_asn=True, new_block=True)
    assert reasons(sample, "score", limits) == ["new_asn", "new_block"]
    assert reasons(sample, "both", limits) == ["device", "new_asn", "new_block"]
    assert reasons(_sample(score=1.5), "score", limits) == ["risk_score"]
    assert reasons(_sample(score=0.5), "score", limits) == []  # under step_up (1)
    # A trusted device: the address rules do not apply, the country rules do.
    thief = _sample(cookie=True, new_asn=True, new_block=True, new_country=True)
    assert reasons(thief, "both", limits) == ["new_country"]
    assert reasons(thief, "device", limits) == []
    assert not stopped(_sample(cookie=True), "both", limits)


def test_a_trusted_device_owes_a_code_for_a_network_new_to_its_history():
    limits = Thresholds()
    thief = _sample(who="thief_home", two_factor=True, cookie=True, new_device_network=True)
    assert reasons(thief, "both", limits) == ["new_device_network"]
    assert reasons(thief, "device", limits) == []  # device recognition alone lets it in
    assert not stopped(thief, "both", replace(limits, new_network_on_device=False))
    # Without a trusted device the rule has nothing to compare with.
    assert "new_device_network" not in reasons(
        _sample(cookie=False, new_device_network=True), "both", limits
    )


def test_the_roaming_laptop_counts_in_the_legitimate_row_and_its_own():
    samples = [
        _sample(who=LEGIT, two_factor=True, cookie=True, roaming=True, new_device_network=True),
        _sample(who=LEGIT, two_factor=True, cookie=True),
    ]
    shares = rates(Run(1, 2, samples, [], CountStore(), True), Thresholds())
    assert shares[(LEGIT, 20, "both")] == (0.5, 2)
    assert shares[(LEGIT_ROAMING, 20, "both")] == (1.0, 1)
    assert shares[(LEGIT, 20, "device")] == (0.0, 2)  # the rule's cost is the 2FA extra


# --- a trusted device's record ----------------------------------------------------


def _features(asn: str, block: str, country: str = "DE") -> SignInFeatures:
    return SignInFeatures(
        ip="84.128.0.1",  # public: the rule skips the site's own networks
        network="192.0.2.0/24",
        asn=asn,
        country=country,
        user_agent="ua",
        browser="Chrome",
        os="Windows",
        device_class=DESKTOP,
        at=START,
        block=block,
    )


def test_a_device_keeps_its_operators_as_the_trusted_device_record_does():
    device = Device(DESKTOP, "ua")
    stored = ""
    for n in [*range(MAX_DEVICE_ASNS + 4), 3, 7]:
        remember(device, _features(f"AS{n}", f"84.{n}.0.0/16"))
        stored = with_asn(stored, f"AS{n}")
    assert device.asns == stored.split()  # digests, latest last, capped
    kept = _Kept.of(device)
    assert short_digest("AS7") in kept.asns and short_digest("AS0") not in kept.asns
    assert "84.0.0.0/16" in kept.blocks and kept.countries == {"DE"}


def test_a_devices_operators_and_blocks_reset_when_it_is_trusted_anew():
    device = Device(DESKTOP, "ua")
    remember(device, _features("AS1", "84.128.0.0/16", "FR"))
    trusted_anew(device, 40 * DAY)
    assert device.cookie_issued == device.cookie_used == 40 * DAY
    assert (device.asns, device.blocks, device.countries) == ([], set(), set())
    assert _Kept.of(device) == _Kept()


def test_the_copied_cookie_on_another_operator_is_measured_by_the_shipped_rule():
    # The device's operators reach the RiskContext as the flow stores them
    # (digests): its own operator fits, another one in a new block does not.
    store = CountStore()
    home = _features("AS3320", "84.128.0.0/16")
    for uid in range(60):  # enough users for the score to count
        store.add(uid, home)
    device = Device(DESKTOP, "ua")
    remember(device, home)
    victim = SimpleNamespace(id=0, two_factor=True)
    previous = ("DE", 0.0)

    def measure(features: SignInFeatures) -> Sample:
        return _measure("thief_home", features, 20, victim, True, previous, store, _Kept.of(device))

    assert not measure(home).new_device_network
    thief = measure(_features("AS6805", "84.9.0.0/16"))
    assert thief.new_device_network and thief.new_device_asn and thief.new_device_block
    assert stopped(thief, "both", Thresholds())
    # Another operator in a block the user knows: the rule lets it in.
    assert not measure(_features("AS6805", "84.128.0.0/16")).new_device_network
    # The device's own operator in a block new to the user (a rotated
    # address): it fits the device's history.
    assert not measure(_features("AS3320", "84.77.0.0/16")).new_device_network
