"""``python -m bench.http_check [--seed S] [--users N] [--quick]``

Trustgate's sign-in risk decisions checked as an independent outsider
would: over real HTTP against the demo site (gunicorn, PostgreSQL), client
addresses through ``X-Forwarded-For`` behind the demo's configured proxy,
a world of real operators' ranges and current browsers of its own
(``world.py``), and outcomes read from HTTP answers only. Nothing of
Trustgate's risk code is imported to draw or to judge.

Prints a Markdown table and writes it to ``bench-results/http_check.md``
(``--output``); progress goes to stderr.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from .run import Check, Row, run_check
from .site import Mailbox, demo_site

REPO = Path(__file__).resolve().parent.parent.parent
HISTORY = 20  # legitimate sign-ins of history per user before the attacks
LATER = 3  # later legitimate sign-ins from home per user
QUICK = {"users": 8, "history": 3, "later": 1}


def _cell(row: Row) -> str:
    if not row.outcomes:
        return "-"
    value = row.figure()
    if math.isnan(value):
        return "-"
    return f"{value:+.1f} points" if row.extra else f"{value:.1f} %"


def _met(row: Row) -> str:
    if row.goal is None or not row.outcomes:
        return ""
    return "met" if row.goal(row.figure()) else "**missed**"


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of hits / n (95 %), in per cent."""
    if n == 0:
        return float("nan"), float("nan")
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return 100 * max(0.0, centre - half), 100 * min(1.0, centre + half)


def table(check: Check) -> str:
    lines = [
        "| row | users | n | stopped / asked | 95 % interval | refused | target | |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in check.rows.values():
        refused = sum(1 for o in row.outcomes if o == "refused")
        stopped = sum(1 for o in row.outcomes if o != "in")
        low, high = wilson(stopped, len(row.outcomes))
        lines.append(
            f"| {row.name} | {row.who} | {len(row.outcomes)} | {_cell(row)} "
            f"| {low:.0f}–{high:.0f} % | {refused} | {row.target} | {_met(row)} |"
        )
    return "\n".join(lines)


def reasons(check: Check) -> str:
    lines = [
        "| row | the code page's \"Why we ask\" (share of the row's sign-ins) |",
        "|---|---|",
    ]
    for row in check.rows.values():
        n = len(row.outcomes) or 1
        said = ", ".join(
            f"{text} {100 * count / n:.0f} %" for text, count in row.reasons.most_common()
        )
        lines.append(f"| {row.name} ({row.who}) | {said or '-'} |")
    return "\n".join(lines)


def report(check: Check, command: str, seconds: float) -> str:
    history = check.tally.history
    asked = sum(1 for o in history if o == "asked")
    return "\n".join(
        [
            "# Over HTTP: an independent-style check",
            "",
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `{command}`, "
            f"{len(check.users)} users (half with TOTP 2FA), {check.history_size} sign-ins "
            f"of history each, seed {check.seed}, run time {seconds / 60:.1f} min.",
            "",
            table(check),
            "",
            reasons(check),
            "",
            f"History: {asked} of {len(history)} legitimate sign-ins were asked for a code. "
            f"Of all {check.tally.asked} legitimate sign-ins asked, "
            f"{check.tally.asked - check.tally.unanswered} were answered with the code "
            '(the authenticator\'s, or the one the inbox got). "2FA" rows count codes '
            "beyond what device recognition alone asks: the browser keeps its "
            "trusted-device cookie, so device recognition alone asks none.",
            "",
        ]
    )


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http_check", description=__doc__)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--users", type=int, default=64)
    parser.add_argument("--quick", action="store_true", help="8 users, 3 sign-ins of history")
    parser.add_argument("--output", type=Path, default=REPO / "bench-results" / "http_check.md")
    args = parser.parse_args(argv)
    users = QUICK["users"] if args.quick else args.users
    history = QUICK["history"] if args.quick else HISTORY
    later = QUICK["later"] if args.quick else LATER
    if users < 2:
        parser.error("--users must be at least 2 (half of them with 2FA)")
    command = "python -m bench.http_check " + " ".join(argv if argv is not None else sys.argv[1:])

    def progress(message: str) -> None:
        print(f"[http_check {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    # SIGTERM (a CI job's timeout, a kill by id) ends the run through its
    # finally blocks: the servers stop and the database is dropped.
    signal.signal(signal.SIGTERM, _terminated)
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="http-check-") as workdir,
        demo_site(Path(workdir)) as (base, mail),
    ):
        progress(f"demo site at {base}")
        check = run_check(
            base,
            Mailbox(mail),
            seed=args.seed,
            users=users,
            history=history,
            later=later,
            progress=progress,
        )
    text = report(check, command.strip(), time.monotonic() - started)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
