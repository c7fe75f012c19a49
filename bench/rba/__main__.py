"""``python -m bench.rba [--quick] [--users N] [--days D] [--seed S]``

Prints Markdown: the share of attacks that owed a code or were refused and the share of
legitimate sign-ins asked for a code, per attacker model and history size,
for device recognition alone, the score alone and both; which rule asks; a
threshold sweep; the rules beside the score switched off one at a time;
what "fits a trusted device's history" can mean (``new_network_on_device``);
where the legitimate codes come from; and the cost of a score and of the
lookups.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import replace

from trust.rules.risk import geo
from trust.rules.risk.decision import Thresholds
from trust.rules.risk.score import score

from .evaluate import (
    ALL_ATTACKS,
    CARRIER6,
    HISTORY_SIZES,
    LEGIT,
    LEGIT_ROAMING,
    MODES,
    UPDATE,
    Run,
    Sample,
    attribution,
    by_connection,
    rates,
    simulate,
)

LABELS = {
    "naive": "naive (random address and browser)",
    "vpn": "VPN exit in the victim's country (hosting ASN), random browser",
    "targeted": "targeted (victim's country and user agent)",
    "very_targeted": "very targeted (victim's ISP and user agent)",
    "thief": "thief (password, copied cookie, abroad)",
    "proxy_block": "residential proxy in the victim's /16 and ISP, victim's user agent",
    "hosting": "hosting/VPN ASN in the victim's country, victim's user agent",
    "thief_home": "thief in the victim's country, another ISP (password, copied cookie)",
    CARRIER6: "the victim's mobile carrier over IPv6 and user agent",
    LEGIT: "**legitimate asked for a code**",
    LEGIT_ROAMING: "legitimate, roaming laptop (home, office, cafés; part of the row above)",
    UPDATE: "**browser update asked** (first sign-in on the new version, histories from here)",
}
ROWS = (*ALL_ATTACKS, LEGIT, LEGIT_ROAMING, UPDATE)
TUNING_SEED, HELD_OUT_SEED = 10, 20


def table(run: Run, limits: Thresholds) -> str:
    shares = rates(run, limits)
    head = "| history | sign-in | " + " | ".join(label for _, label, _ in MODES) + " |"
    lines = [head, "|---|---|" + "---|" * len(MODES)]
    for history in HISTORY_SIZES:
        for who in ROWS:
            cells = []
            for mode, _, _ in MODES:
                share, n = shares.get((who, history, mode), (0.0, 0))
                cells.append(f"{share:.1%} (n={n})")
            lines.append(f"| {history} | {LABELS[who]} | " + " | ".join(cells) + " |")
        device = shares.get((LEGIT, history, "device"), (0.0, 0))[0]
        both = shares.get((LEGIT, history, "both"), (0.0, 0))[0]
        extra = f"+{(both - device) * 100:.1f} points"
        lines.append(
            f"| {history} | **2FA users' extra codes over device recognition alone** "
            f"| | | {extra} |"
        )
    return "\n".join(lines)


def reasons_table(run: Run, limits: Thresholds) -> str:
    """Which rule stops each attacker: per reason, the share of the row it
    asks (in brackets: the share only it asks)."""
    by = attribution(run, limits)
    lines = [
        "| history | sign-in | score alone (users without 2FA): by reason "
        "| both (2FA users): by reason |",
        "|---|---|---|---|",
    ]
    for history in HISTORY_SIZES:
        for who in ROWS:
            cells = []
            for mode in ("score", "both"):
                found = by.get((who, history, mode), {})
                ordered = sorted(found.items(), key=lambda item: -item[1][0])
                cells.append(", ".join(f"{r} {a:.1%} ({b:.1%})" for r, (a, b) in ordered) or "none")
            lines.append(f"| {history} | {LABELS[who]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def targets(runs: list[tuple[int, Run]], limits: Thresholds, history: int = 20) -> str:
    """The issue's targets at ``history`` sign-ins, one column per seed."""
    rows = (
        ("targeted attackers stopped (no 2FA)", "targeted", "score", ">= 97 %"),
        ("VPN exits in the victim's country stopped (no 2FA)", "vpn", "score", ">= 97 %"),
        (
            "hosting/VPN ASN + victim's browser stopped (no 2FA)",
            "hosting",
            "score",
            ">= 97 %",
        ),
        ("the victim's ISP stopped (no 2FA)", "very_targeted", "score", ">= 90 %"),
        ("the victim's /16 on its ISP stopped (no 2FA)", "proxy_block", "score", "-"),
        ("the victim's carrier over IPv6 stopped (no 2FA)", CARRIER6, "score", "-"),
        (
            "in-country cookie thief, another ISP, stopped (2FA)",
            "thief_home",
            "both",
            ">= 90 %",
        ),
        ("legitimate later sign-ins asked (no 2FA)", LEGIT, "score", "<= 5 %"),
        ("roaming laptops asked (no 2FA)", LEGIT_ROAMING, "score", "-"),
        ("browser updates asked (no 2FA)", UPDATE, "score", "<= 5 %"),
    )
    head = f"| target (at {history} sign-ins of history) | goal | "
    head += " | ".join(f"seed {seed}" for seed, _ in runs) + " |"
    lines = [head, "|---|---|" + "---|" * len(runs)]
    shares = [rates(run, limits) for _, run in runs]
    for label, who, mode, goal in rows:
        cells = [f"{s.get((who, history, mode), (0.0, 0))[0]:.1%}" for s in shares]
        lines.append(f"| {label} | {goal} | " + " | ".join(cells) + " |")
    for who, label, goal in (
        (LEGIT, "2FA users' extra codes over device recognition alone", "<= 3 points"),
        (LEGIT_ROAMING, "roaming laptops, 2FA users: extra codes over device recognition", "-"),
        (UPDATE, "browser updates, 2FA users: extra codes over device recognition", "<= 5 points"),
    ):
        extra = []
        for s in shares:
            device = s.get((who, history, "device"), (0.0, 0))[0]
            both = s.get((who, history, "both"), (0.0, 0))[0]
            extra.append(f"+{(both - device) * 100:.1f} points")
        lines.append(f"| {label} | {goal} | " + " | ".join(extra) + " |")
    return "\n".join(lines)


def sweep(run: Run, history: int) -> str:
    lines = [
        "| `TRUST_RISK_STEP_UP` | targeted stopped | very targeted | VPN "
        f"| legitimate asked (h={history}, no 2FA) |",
        "|---|---|---|---|---|",
    ]
    for exponent in (-3, -2.5, -2, -1.5, -1, -0.5, 0, 0.5, 1):
        limits = replace(Thresholds(), step_up=10**exponent)
        shares = rates(run, limits)

        def share(who: str, limits: Thresholds = limits, shares: dict = shares) -> str:
            return f"{shares.get((who, history, 'score'), (0.0, 0))[0]:.1%}"

        lines.append(
            f"| 10^{exponent:g} | {share('targeted')} | {share('very_targeted')} | "
            f"{share('vpn')} | {share(LEGIT)} |"
        )
    return "\n".join(lines)


def variants(run: Run, history: int) -> str:
    """The rules beside the score switched off one at a time: what each
    costs and what it stops (the trade-off behind the defaults)."""
    base = Thresholds()
    options = (
        ("defaults", base),
        ("no new_block rule", replace(base, new_network_step_up=False)),
        ("no new_asn rule", replace(base, new_asn_step_up=False)),
        ("neither address rule", replace(base, new_network_step_up=False, new_asn_step_up=False)),
        (
            "neither, step_up 0.1",
            replace(base, new_network_step_up=False, new_asn_step_up=False, step_up=0.1),
        ),
        (
            "no country rules on trusted devices",
            replace(base, new_country_on_trusted=False, new_country_on_device=False),
        ),
        ("no new_network_on_device rule", replace(base, new_network_on_device=False)),
    )
    columns = (
        ("targeted", "targeted", "score"),
        ("VPN exit", "vpn", "score"),
        ("hosting + UA", "hosting", "score"),
        ("victim's ISP", "very_targeted", "score"),
        ("victim's /16", "proxy_block", "score"),
        ("carrier over IPv6", CARRIER6, "score"),
        ("thief abroad (2FA)", "thief", "both"),
        ("thief at home (2FA)", "thief_home", "both"),
        ("legitimate asked (no 2FA)", LEGIT, "score"),
        ("browser updates asked (no 2FA)", UPDATE, "score"),
        ("legitimate asked (2FA)", LEGIT, "both"),
        ("roaming laptop asked (2FA)", LEGIT_ROAMING, "both"),
    )
    lines = [
        f"| rules (h={history}) | " + " | ".join(label for label, _, _ in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for label, limits in options:
        shares = rates(run, limits)
        cells = [f"{shares.get((who, history, mode), (0.0, 0))[0]:.1%}" for _, who, mode in columns]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# What "fits the device's own history" can mean (``new_network_on_device``):
# each variant says when a trusted device's sign-in owes a code.
DEVICE_HISTORY = (
    ("operator new to the device", lambda s: s.new_device_asn),
    ("operator new to the device and to the user", lambda s: s.new_device_asn and s.new_asn),
    (
        "operator new to the device, block new to the user (default)",
        lambda s: s.new_device_network,
    ),
    (
        "operator new to the device, block new to the device",
        lambda s: s.new_device_asn and s.new_device_block,
    ),
    ("block new to the user", lambda s: s.new_block),
    ("block new to the device", lambda s: s.new_device_block),
    ("off", lambda s: False),
)


def device_history(run: Run) -> str:
    """The in-country cookie thief against what 2FA users pay in codes over
    device recognition alone, for each meaning of "fits the device's history"."""
    later = HISTORY_SIZES[1:]
    lines = [
        "| a trusted device owes a code when | "
        + " | ".join(f"thief in country, h={h}" for h in later)
        + " | "
        + " | ".join(f"extra codes, h={h}" for h in later)
        + " | extra codes, roaming laptop, h=20 |",
        "|---|" + "---|" * (2 * len(later) + 1),
    ]
    limits = Thresholds()
    for label, fires in DEVICE_HISTORY:
        samples: list[Sample] = [
            replace(s, new_device_network=s.cookie and bool(fires(s))) for s in run.samples
        ]
        shares = rates(replace(run, samples=samples), limits)

        def cell(who: str, h: int, mode: str, shares: dict = shares) -> float:
            return shares.get((who, h, mode), (0.0, 0))[0]

        def extra(who: str, h: int) -> str:
            return f"{(cell(who, h, 'both') - cell(who, h, 'device')) * 100:+.1f}"

        thieves = [f"{cell('thief_home', h, 'both'):.1%}" for h in later]
        extras = [extra(LEGIT, h) for h in later]
        lines.append(
            f"| {label} | " + " | ".join(thieves + extras) + f" | {extra(LEGIT_ROAMING, 20)} |"
        )
    return "\n".join(lines)


def block_sweep(
    users: int, days: float, seed: int, draws: tuple[int, int], history: int = 20
) -> str:
    """The IPv6 block of the ``new_block`` rule, from /48 to /32, each a new
    simulation of ``seed`` (the block is a counted feature): the trade-off
    behind ``geo.BLOCK_IPV6_PREFIX``. The IPv4 block stays a /16."""
    columns = (
        ("targeted", "targeted", "score"),
        ("victim's ISP", "very_targeted", "score"),
        ("victim's /16", "proxy_block", "score"),
        ("carrier over IPv6", CARRIER6, "score"),
        ("hosting + UA", "hosting", "score"),
        ("legitimate asked (no 2FA)", LEGIT, "score"),
        ("mobile v6 asked", LEGIT, "mobile v6"),
        ("browser updates asked (no 2FA)", UPDATE, "score"),
    )
    lines = [
        f"| IPv6 block (h={history}) | " + " | ".join(label for label, _, _ in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    default = geo.BLOCK_IPV6_PREFIX
    limits = Thresholds()
    try:
        for prefix in (48, 44, 40, 36, 32):
            geo.BLOCK_IPV6_PREFIX = prefix
            run = simulate(users, days, seed, *draws)
            shares = rates(run, limits)
            mobile = by_connection(run, limits, LEGIT, history).get("mobile v6")
            cells = []
            for _, who, mode in columns:
                if mode == "mobile v6":
                    cells.append(f"{mobile[1]:.1%}" if mobile else "-")
                else:
                    cells.append(f"{shares.get((who, history, mode), (0.0, 0))[0]:.1%}")
            mark = " (default)" if prefix == default else ""
            lines.append(f"| /{prefix}{mark} | " + " | ".join(cells) + " |")
    finally:
        geo.BLOCK_IPV6_PREFIX = default
    return "\n".join(lines)


def connections(run: Run, limits: Thresholds, min_history: int = 20) -> str:
    """Where the legitimate codes come from: by how the sign-in connects."""
    lines = [
        f"| connection (users without 2FA, history >= {min_history}) | share of sign-ins "
        "| asked | by reason | browser updates asked |",
        "|---|---|---|---|---|",
    ]
    updates = by_connection(run, limits, UPDATE, min_history)
    for via, (share, asked, per) in by_connection(run, limits, LEGIT, min_history).items():
        why = ", ".join(f"{r} {v:.1%}" for r, v in sorted(per.items(), key=lambda i: -i[1]))
        update = updates.get(via)
        cell = f"{update[1]:.1%}" if update else "-"
        lines.append(f"| {via or '?'} | {share:.1%} | {asked:.1%} | {why or 'none'} | {cell} |")
    return "\n".join(lines)


def costs(run: Run) -> str:
    features = run.features[:5000]
    views = [run.store.view(i % max(run.users, 1)) for i in range(len(features))]
    start = time.perf_counter()
    for f, v in zip(features, views, strict=True):
        score(f, v)
    per_score = (time.perf_counter() - start) / max(len(features), 1) * 1e6

    class Counting:
        def __init__(self, inner: object) -> None:
            self.inner, self.reads = inner, 0

        def __getattr__(self, name: str) -> object:
            method = getattr(self.inner, name)

            def read(*args: object) -> object:
                self.reads += 1
                return method(*args)

            return read

    counting = Counting(views[0])
    score(features[0], counting)  # type: ignore[arg-type]
    ips = [f.ip for f in run.features[:5000] if f.ip]
    geo._place.cache_clear()
    start = time.perf_counter()
    for ip in ips:
        geo.locate(ip)
    per_locate = (time.perf_counter() - start) / max(len(ips), 1) * 1e6
    start = time.perf_counter()
    for ip in ips:
        geo.locate(ip)
    per_cached = (time.perf_counter() - start) / max(len(ips), 1) * 1e6
    return "\n".join(
        [
            "| cost | value |",
            "|---|---|",
            f"| score (in-memory counts) | {per_score:.1f} µs |",
            f"| count reads per score | {counting.reads} (two indexed queries in a database) |",
            f"| lookup: country + ASN + network, uncached | {per_locate:.1f} µs |",
            f"| lookup: the same, cached | {per_cached:.2f} µs |",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rba")
    parser.add_argument("--quick", action="store_true", help="a smaller run for CI (< 60 s)")
    parser.add_argument("--users", type=int, default=None)
    parser.add_argument("--days", type=float, default=None)
    parser.add_argument("--seed", type=int, default=TUNING_SEED, help="the tuning seed")
    parser.add_argument(
        "--held-out-seed", type=int, default=HELD_OUT_SEED, help="the seed reported"
    )
    parser.add_argument(
        "--blocks",
        action="store_true",
        help="only the sweep of the IPv6 block size (one simulation per size, held-out seed)",
    )
    args = parser.parse_args(argv)
    users = args.users or (1000 if args.quick else 6000)
    days = args.days or (90 if args.quick else 150)
    draws = (8_000, 1_000) if args.quick else (20_000, 2_000)
    started = time.perf_counter()
    load = time.perf_counter()
    geo.warm()
    load = time.perf_counter() - load
    limits = Thresholds()
    if args.blocks:
        print(f"### The IPv6 block of the new_block rule (held-out seed {args.held_out_seed})\n")
        print(block_sweep(users, days, args.held_out_seed, draws))
        return 0
    runs = [(seed, simulate(users, days, seed, *draws)) for seed in (args.seed, args.held_out_seed)]
    (tune_seed, tune), (held_seed, held) = runs
    print(f"## Risk model evaluation ({'quick' if args.quick else 'full'})\n")
    print(
        f"{users} users, {days:g} days; tuning seed {tune_seed} ({tune.sign_ins} legitimate "
        f"sign-ins), held-out seed {held_seed} ({held.sign_ins}); thresholds: "
        f"step_up={limits.step_up:g}, "
        f"trusted_step_up={limits.trusted_step_up:g}, deny={limits.deny:g}, "
        f"new_country_on_trusted={limits.new_country_on_trusted}, "
        f"new_asn_step_up={limits.new_asn_step_up}, "
        f"new_network_step_up={limits.new_network_step_up}, "
        f"new_country_on_device={limits.new_country_on_device}, "
        f"new_network_on_device={limits.new_network_on_device}.\n"
    )
    print("### Targets\n")
    print(targets(runs, limits))
    for title, seed, run in (
        ("Held-out seed", held_seed, held),
        ("Tuning seed", tune_seed, tune),
    ):
        print(f"\n### {title} ({seed}): share of sign-ins that owed a code or were refused\n")
        print(table(run, limits))
        print(f"\n### {title} ({seed}): which rule asks (share of the row; only it)\n")
        print(reasons_table(run, limits))
    print(
        "\n### The score alone at other `TRUST_RISK_STEP_UP` thresholds"
        f" (tuning seed {tune_seed})\n"
    )
    print(sweep(tune, 20))
    print(f"\n### The rules beside the score, one at a time (held-out seed {held_seed})\n")
    print(variants(held, 20))
    print(
        f"\n### A copied cookie in the victim's country: what fits the device's history "
        f"(held-out seed {held_seed})\n"
    )
    print(device_history(held))
    print(f"\n### Where the legitimate codes come from (held-out seed {held_seed})\n")
    print(connections(held, limits))
    print()
    print(costs(held))
    print(f"| geolocation data load (once per process) | {load:.2f} s |")
    print(f"\nRun time: {time.perf_counter() - started:.0f} s.")
    if not all(math.isfinite(s.score) for _, run in runs for s in run.samples):
        print("non-finite score", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
