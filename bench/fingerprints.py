"""Fingerprint cost per call over the real user-agent corpus."""

from __future__ import annotations

import statistics

from bench.timing import per_call
from tests.data import read_agents, user_agent_corpus

LEGACY_SAMPLE = 2000  # user_agents.parse is slow: a sample is enough for its median
WARM_SAMPLE = 4000  # fits parse_agent's cache (4096): the browsers a site sees often


def run() -> dict:
    # The whole corpus when $TRUSTGATE_UA_CORPUS names it, else the sample in
    # tests/data: the report says how many agents it timed.
    agents = read_agents(user_agent_corpus())
    import user_agents

    from trust.rules.fingerprint import _ua_parser, clear_caches, fingerprint

    _ua_parser()  # the parser's one-off set-up is not a per-call cost
    ips = ["203.0.113.7", "2001:db8::1", "198.51.100.23", "::ffff:192.0.2.1"]

    def calls(sample):
        return [lambda ua=ua, i=i: fingerprint(ua, ips[i % 4]) for i, ua in enumerate(sample)]

    clear_caches()
    cold = per_call(calls(agents))
    per_call(calls(agents[:WARM_SAMPLE]))
    warm = per_call(calls(agents[:WARM_SAMPLE]))
    legacy = per_call(
        [lambda ua=ua: user_agents.parse(ua) for ua in agents[:: len(agents) // LEGACY_SAMPLE]]
    )
    return {
        "agents": len(agents),
        "cold_us": statistics.median(cold) * 1e6,
        "cold_p95_us": statistics.quantiles(cold, n=20)[-1] * 1e6,
        "warm_us": statistics.median(warm) * 1e6,
        "user_agents_parse_us": statistics.median(legacy) * 1e6,
    }
