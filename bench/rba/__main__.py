"""``python -m bench.rba [--quick] [--users N] [--days D] [--seed S]``

Prints Markdown: the share of attacks stepped up or denied and the share of
legitimate sign-ins asked for a code, per attacker model and history size,
for device recognition alone, the score alone and both; a threshold sweep;
and the cost of a score and of the lookups.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import replace

from tests.data import full_user_agent_corpus
from trust.rules.risk import geo
from trust.rules.risk.decision import Thresholds
from trust.rules.risk.score import score

from .evaluate import ATTACKS, HISTORY_SIZES, LEGIT, MODES, Run, rates, simulate

LABELS = {
    "naive": "naive (random address and browser)",
    "vpn": "VPN (victim's country, random browser)",
    "targeted": "targeted (victim's country and user agent)",
    "very_targeted": "very targeted (victim's ASN and user agent)",
    "thief": "thief (password, copied cookie, abroad)",
    LEGIT: "**legitimate asked for a code**",
}


def table(run: Run, limits: Thresholds) -> str:
    shares = rates(run, limits)
    head = "| history | sign-in | " + " | ".join(label for _, label, _ in MODES) + " |"
    lines = [head, "|---|---|" + "---|" * len(MODES)]
    for history in HISTORY_SIZES:
        for who in (*ATTACKS, LEGIT):
            cells = []
            for mode, _, _ in MODES:
                share, n = shares.get((who, history, mode), (0.0, 0))
                cells.append(f"{share:.1%} (n={n})")
            lines.append(f"| {history} | {LABELS[who]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def sweep(run: Run, history: int) -> str:
    lines = [
        "| step-up threshold | targeted stopped | very targeted | VPN "
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
    geo._asn_of_global.cache_clear()
    start = time.perf_counter()
    for ip in ips:
        geo.locate(ip)
    per_locate = (time.perf_counter() - start) / max(len(ips), 1) * 1e6
    start = time.perf_counter()
    for ip in ips:
        geo.country_of(ip)
    per_country = (time.perf_counter() - start) / max(len(ips), 1) * 1e6
    return "\n".join(
        [
            "| cost | value |",
            "|---|---|",
            f"| score (in-memory counts) | {per_score:.1f} µs |",
            f"| count reads per score | {counting.reads} (two indexed queries in a database) |",
            f"| lookup: country + ASN + network, uncached | {per_locate:.1f} µs |",
            f"| lookup: country only (iptocc) | {per_country:.2f} µs |",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rba")
    parser.add_argument("--quick", action="store_true", help="a smaller run for CI (< 60 s)")
    parser.add_argument("--users", type=int, default=None)
    parser.add_argument("--days", type=float, default=None)
    parser.add_argument("--seed", type=int, default=10)
    args = parser.parse_args(argv)
    users = args.users or (2000 if args.quick else 10000)
    days = args.days or (100 if args.quick else 150)
    draws = (60_000, 8_000) if args.quick else (150_000, 20_000)
    started = time.perf_counter()
    load = time.perf_counter()
    geo.warm()
    load = time.perf_counter() - load
    run = simulate(users, days, args.seed, *draws)
    limits = Thresholds()
    print(f"## Risk model evaluation ({'quick' if args.quick else 'full'})\n")
    print(
        f"{run.users} users, {days:g} days, {run.sign_ins} legitimate sign-ins, "
        f"seed {args.seed}; thresholds: step_up={limits.step_up:g}, "
        f"trusted_step_up={limits.trusted_step_up:g}, deny={limits.deny:g}, "
        f"new_country_on_trusted={limits.new_country_on_trusted}, "
        f"new_asn_step_up={limits.new_asn_step_up}, "
        f"new_network_step_up={limits.new_network_step_up}, "
        f"new_country_on_device={limits.new_country_on_device}.\n"
    )
    corpus = "the whole corpus" if full_user_agent_corpus() else "the sample in tests/data"
    print(f"User agents: {corpus} (tests/data/README.md).\n")
    print("Share of sign-ins stepped up or denied:\n")
    print(table(run, limits))
    print("\nThe score alone at other step-up thresholds:\n")
    print(sweep(run, 20))
    print()
    print(costs(run))
    print(f"| ASN data load (once per process) | {load:.2f} s |")
    print(f"\nRun time: {time.perf_counter() - started:.0f} s.")
    if not all(math.isfinite(s.score) for s in run.samples):
        print("non-finite score", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
