"""The results as the Markdown table docs/performance.md shows."""

from __future__ import annotations

SAMPLES_NOTE = "2,000 sign-ins at random devices, parse cache cleared for each"


def _whole_row(label: str, row: dict) -> str:
    ok = "✓" if row["median_ms"] <= 2 else "✗"
    dev, risk = row["device"], row["risk"]
    return (
        f"| {label} | {row['median_ms']:.2f} ms {ok} (target ≤ 2) | {row['p95_ms']:.2f} ms "
        f"| {dev['median_ms']:.2f} ms ({dev['p95_ms']:.2f}) "
        f"| {risk['median_ms']:.2f} ms ({risk['p95_ms']:.2f}) |"
    )


def _ratio(value: float, target: float | None = None) -> str:
    text = f"{value:.2f}×"
    if target is not None:
        text += " ✓" if value <= target else " ✗"
    return text


# The request-cost targets (issue "One decision": the steady state of a
# trusted session, and an anonymous request, cost at most 5 % more).
TARGETS = {"trusted session": 1.05, "anonymous": 1.05}


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        f"Machine: {m['nproc']} CPU ({m['cpu']}), Python {m['python']}, Django {m['django']}, "
        f"ua-parser accelerator: {m['ua_parser_accelerator']}. "
        f"Medians of {results['rounds']} interleaved rounds.",
        "",
        "**Request cost** (µs per request, queries in brackets; ratios against the same stack "
        "without Trustgate; targets: ≤ 1.05× for a trusted session and an anonymous request, "
        "≤ 1.10× for the others, and never more queries than Django):",
        "",
        "| session | Django | + Trustgate | ratio | + django-otp | ratio "
        "| session+auth only | + Trustgate | ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for scenario, row in results["scenarios"].items():

        def cell(name: str, row=row) -> str:
            return f"{row[name]['us']:.0f} ({row[name]['queries']}q)"

        base, small = row["django"]["us"], row["session+auth"]["us"]
        target = TARGETS.get(scenario, 1.10)
        lines.append(
            f"| {scenario} | {cell('django')} | {cell('trustgate')} "
            f"| {_ratio(row['trustgate']['us'] / base, target)} | {cell('django-otp')} "
            f"| {_ratio(row['django-otp']['us'] / base)} | {cell('session+auth')} "
            f"| {cell('session+auth+trustgate')} "
            f"| {_ratio(row['session+auth+trustgate']['us'] / small)} |"
        )
    asgi = results.get("asgi") or {}
    if asgi:
        lines += [
            "",
            "**Under ASGI** (`ASGIHandler`, one event loop, the same sessions; µs per request):",
            "",
            "| session | Django | + Trustgate | ratio |",
            "|---|---|---|---|",
        ]
        for scenario, row in asgi.items():
            base = row["django"]["us"]
            lines.append(
                f"| {scenario} | {base:.0f} | {row['trustgate']['us']:.0f} "
                f"| {_ratio(row['trustgate']['us'] / base, 1.10)} |"
            )
    fp = results["fingerprint"]
    lines += ["", "**Fingerprint** (`trust.rules.fingerprint.fingerprint`, per call):", ""]
    if "skipped" in fp:
        lines.append(f"skipped: {fp['skipped']}")
    else:
        ok = "✓" if fp["cold_us"] <= 50 else "✗"
        lines += [
            "| user agents | cold median | cold p95 | warm median | `user_agents.parse` |",
            "|---|---|---|---|---|",
            f"| {fp['agents']:,} real | {fp['cold_us']:.1f} µs {ok} (target ≤ 50) "
            f"| {fp['cold_p95_us']:.1f} µs | {fp['warm_us']:.1f} µs "
            f"| {fp['user_agents_parse_us']:.0f} µs |",
        ]
    d = results["decision"]
    lines += ["", "**Sign-in decision** (find the device by its secret, compare fingerprints):", ""]
    if "skipped" in d or "failed" in d:
        lines.append(f"not measured: {d.get('skipped') or d.get('failed')}")
    else:
        ok = "✓" if d["1m"]["first_touch_median_ms"] <= 2 else "✗"
        k, big = d["1k"], d["1m"]
        lines += [
            "| trusted devices | first touch: median | p95 | warm: median | p95 |",
            "|---|---|---|---|---|",
            f"| 1,000 | {k['first_touch_median_ms']:.2f} ms | {k['first_touch_p95_ms']:.2f} ms "
            f"| {k['median_ms']:.2f} ms | {k['p95_ms']:.2f} ms |",
            f"| {big['rows']:,} | {big['first_touch_median_ms']:.2f} ms {ok} (target ≤ 2) "
            f"| {big['first_touch_p95_ms']:.2f} ms | {big['median_ms']:.2f} ms "
            f"| {big['p95_ms']:.2f} ms |",
            f"| growth | {_ratio(d['first_touch_growth'])} | | {_ratio(d['growth'])} | |",
            "",
            f"PostgreSQL {d['postgresql'] // 10000}.{d['postgresql'] % 10000}, {SAMPLES_NOTE}; "
            f"plan: `{big['plan']}`.",
        ]
        whole = d.get("whole")
        if whole:
            lines += [
                "",
                f"**Whole sign-in decision** (a 2FA user's password sign-in with a trust "
                f"cookie, as `admission.begin` decides it: fingerprint, device look-up and "
                f"policy, then `risk.weigh` (geo lookup, counts, score, last success, "
                f"burst, rules) and the ruling) with {whole['devices']:,} trusted devices and "
                f"{whole['history_rows']:,} sign-in history rows, "
                f"{len(whole['queries'])} queries; both bindings measured in alternating "
                f"chunks of the same sign-ins:",
                "",
                "| binding | median | p95 | device part: median (p95) | risk part: median (p95) |",
                "|---|---|---|---|---|",
                _whole_row("Django's default (client-side)", whole),
            ]
            prepared = whole.get("prepared")
            if prepared:
                lines.append(
                    _whole_row(
                        "`server_side_binding`, `prepare_threshold` "
                        f"{prepared['options']['prepare_threshold']}",
                        prepared,
                    )
                )
        post = d.get("sign_in_post")
        if post:
            ok = "✓" if d["decision_share_met"] else "✗"
            lines += [
                "",
                f"**The decision's share of the sign-in**: {d['decision_share']:.2%} {ok} "
                f"(target ≤ 2 %): the whole decision's median (default binding) over the median "
                f"of {post['posts']} whole sign-in requests in the same run "
                f"({post['median_ms']:.0f} ms: a password POST through the test client, "
                f"{post['hasher']} at {post['iterations']:,} iterations, a trusted browser "
                f"let in without a code).",
            ]
    w = results["worst_case"]
    lines += [
        "",
        "**Worst case**: a 100 KB user agent and a 10 KB `X-Forwarded-For` "
        "(one proxy configured) against ordinary headers, and against the longest user agent "
        "Trustgate reads (512 characters, `MAX_USER_AGENT_LENGTH`; longer ones are cut "
        "before anything reads them):",
        "",
        "| request | ordinary | 512-character UA | hostile | ratio to ordinary | ratio to 512 |",
        "|---|---|---|---|---|---|",
    ]
    for scenario, row in w.items():
        lines.append(
            f"| {scenario} | {row['normal_us']:.1f} µs | {row['longest_us']:.1f} µs "
            f"| {row['hostile_us']:.1f} µs | {_ratio(row['ratio'])} "
            f"| {_ratio(row['ratio_to_longest'])} |"
        )
    return "\n".join(lines) + "\n"
