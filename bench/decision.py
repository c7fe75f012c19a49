"""The sign-in decision against 1 k and 1 M trusted devices in PostgreSQL.

Run in its own process (``python -m bench.decision``) with ``DATABASE_URL``
pointing at a throwaway database; prints JSON. The decision is what a
sign-in with a trust cookie does before admitting anyone: read the client's
fingerprint, find the device by the SHA-256 of the cookie's secret, and let
the policy compare the two.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import statistics
import sys
import time
from types import SimpleNamespace

import django

USERS = 1000
SAMPLES = int(os.environ.get("BENCH_DECISION_SAMPLES", "2000"))
MANY = int(os.environ.get("BENCH_DECISION_ROWS", "1000000"))  # smaller only to smoke-test
# Sign-in history rows for the risk decision (issue 10); 10 M is the target size.
HISTORY = int(os.environ.get("BENCH_DECISION_HISTORY", "10000000"))
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
# Secret i is i written as 43 digits: a well-formed cookie secret whose
# SHA-256 PostgreSQL can compute while it generates the rows.
INSERT_DEVICES = """
INSERT INTO trust_trusteddevice (
    user_id, token_hash, otp_device, browser, os, device_class, user_agent, network,
    first_ip, last_ip, created_at, last_seen_at, expires_at, revoked_at, revoked_reason)
SELECT %(first_user)s + (i %% %(users)s),
       encode(sha256(convert_to(lpad(i::text, 43, '0'), 'UTF8')), 'hex'),
       'otp_totp.totpdevice/1', 'Chrome', 'Windows', 'desktop', '', '203.0.113.0/24',
       '203.0.113.7', '203.0.113.7', now(), now(), now() + interval '30 days', NULL, ''
FROM generate_series(%(start)s, %(stop)s) AS i
"""
INSERT_USERS = """
INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
                       is_staff, is_active, date_joined)
SELECT '!', false, 'bench' || g, '', '', '', false, true, now()
FROM generate_series(1, %(users)s) AS g
"""


# History: failed and successful attempts of the bench users, spread over
# 180 days; the risk counts: a site-wide row per value and a row per user
# and value, as the users' successful sign-ins left them.
INSERT_HISTORY = """
INSERT INTO trust_signinattempt (user_id, at, ip, network, asn, country, device_name,
                                 outcome, reasons, score)
SELECT %(first_user)s + (i %% %(users)s), now() - (i %% 15552000) * interval '1 second',
       '203.0.113.7', '203.0.113.0/24', 'EXAMPLE-AS', 'DE', 'Chrome on Windows',
       CASE WHEN i %% 10 = 0 THEN 'failed_password' ELSE 'allowed' END, '[]', 0.01
FROM generate_series(%(start)s, %(stop)s) AS i
"""
INSERT_SITE_COUNTS = """
INSERT INTO trust_riskcount (user_id, feature, value, count)
SELECT NULL, f, 'v' || g, 10 FROM unnest(ARRAY['ip','network','asn','country','user_agent',
       'browser','os','device_class']) AS f, generate_series(1, %(values)s) AS g
"""
INSERT_USER_COUNTS = """
INSERT INTO trust_riskcount (user_id, feature, value, count)
SELECT %(first_user)s + u, f, 'v' || (u %% 1000), 5 FROM unnest(ARRAY['ip','network','asn',
       'country','user_agent','browser','os','device_class','*total']) AS f,
       generate_series(0, %(users)s - 1) AS u
"""


def secret(i: int) -> str:
    return f"{i:043d}"


def main() -> None:
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import RequestFactory
    from django.utils import timezone

    from trust.browser import request_fingerprint
    from trust.conf import conf
    from trust.cookie import Presented
    from trust.rules import policy
    from trust.rules.fingerprint import clear_caches

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(INSERT_USERS, {"users": USERS})
        cursor.execute("SELECT min(id) FROM auth_user")
        first_user = cursor.fetchone()[0]

    factory = RequestFactory()

    def signing_in(i: int):
        request = factory.get("/", HTTP_USER_AGENT=CHROME, REMOTE_ADDR="203.0.113.7")
        request.COOKIES[conf.COOKIE_NAME] = secret(i)
        return i, request

    def decide(arrival) -> bool:
        i, request = arrival
        clear_caches()  # a sign-in from a browser not seen lately
        fp = request_fingerprint(request)
        presented = Presented.read(request)
        user = SimpleNamespace(pk=first_user + (i % USERS))
        _, device = presented.for_user(user)
        assessment = policy.assess(
            device,
            fp,
            timezone.now(),
            idle_timeout=conf.IDLE_TIMEOUT,
            require_known_network=conf.REQUIRE_KNOWN_NETWORK,
        )
        return assessment.recognized

    def fill(start: int, stop: int) -> float:
        began = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                INSERT_DEVICES,
                {"first_user": first_user, "users": USERS, "start": start, "stop": stop},
            )
            cursor.execute("ANALYZE trust_trusteddevice")
        return time.perf_counter() - began

    def timed(arrivals) -> list[float]:
        times = []
        for arrival in arrivals:
            began = time.perf_counter()
            decide(arrival)
            times.append(time.perf_counter() - began)
        return times

    def measure(rows: int) -> dict:
        rng = random.Random(rows)
        arrivals = [signing_in(rng.randint(1, rows)) for _ in range(SAMPLES)]
        assert all(decide(a) for a in arrivals[:20]), "a device that should be known was not"
        assert not decide(signing_in(rows + 1)), "a secret nobody holds was recognized"
        for arrival in [signing_in(rng.randint(1, rows)) for _ in range(100)]:
            decide(arrival)  # warm the connection and the plan, not these rows
        # First touch: these devices' rows were not read since they were
        # written, as for a sign-in after a while. Then the same again, warm.
        first = timed(arrivals)
        times = timed(arrivals)
        picks = [i for i, _ in arrivals]
        with connection.cursor() as cursor:
            cursor.execute(
                "EXPLAIN SELECT * FROM trust_trusteddevice WHERE token_hash IN (%s)",
                [hashlib.sha256(secret(picks[0]).encode()).hexdigest()],
            )
            plan = cursor.fetchone()[0]
        return {
            "rows": rows,
            "first_touch_median_ms": statistics.median(first) * 1e3,
            "first_touch_p95_ms": statistics.quantiles(first, n=20)[-1] * 1e3,
            "median_ms": statistics.median(times) * 1e3,
            "p95_ms": statistics.quantiles(times, n=20)[-1] * 1e3,
            "plan": plan,
        }

    def risk_decision(user_pk: int) -> str:
        """Counts, score, last successful sign-in and the rules: the risk model's part."""
        from trust.flows import risk
        from trust.rules.risk.decision import RiskContext, decide
        from trust.rules.risk.features import features_of
        from trust.rules.risk.score import score

        request = factory.get("/", HTTP_USER_AGENT=CHROME, REMOTE_ADDR="80.128.0.1")
        fp = request_fingerprint(request)
        features = features_of(fp, CHROME, timezone.now())
        user = SimpleNamespace(pk=user_pk)
        last = risk.last_success(user)
        context = RiskContext(
            features,
            score(features, risk.DbCounts(user, features)),
            previous_country=last.country if last else "",
            previous_at=last.at if last else None,
        )
        return decide(context, thresholds=conf.RISK_THRESHOLDS).action

    def measure_risk() -> dict:
        from trust.rules.risk import geo

        geo.warm()
        rng = random.Random(7)
        users = [first_user + rng.randrange(USERS) for _ in range(SAMPLES)]
        for pk in users[:100]:
            risk_decision(pk)
        times = []
        for pk in users:
            began = time.perf_counter()
            risk_decision(pk)
            times.append(time.perf_counter() - began)
        with connection.cursor() as cursor:
            cursor.execute(
                "EXPLAIN SELECT country, at FROM trust_signinattempt WHERE user_id = %s "
                "AND outcome IN ('allowed', 'passed') ORDER BY at DESC LIMIT 1",
                [users[0]],
            )
            plan = " / ".join(row[0].strip() for row in cursor.fetchall()[:2])
        return {
            "median_ms": statistics.median(times) * 1e3,
            "p95_ms": statistics.quantiles(times, n=20)[-1] * 1e3,
            "last_success_plan": plan,
        }

    def fill_risk(rows: int) -> float:
        began = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(INSERT_SITE_COUNTS, {"values": 10000})
            cursor.execute(INSERT_USER_COUNTS, {"first_user": first_user, "users": USERS})
            step = 1_000_000
            for start in range(1, rows + 1, step):
                cursor.execute(
                    INSERT_HISTORY,
                    {
                        "first_user": first_user,
                        "users": USERS,
                        "start": start,
                        "stop": min(start + step - 1, rows),
                    },
                )
            cursor.execute("ANALYZE trust_signinattempt")
            cursor.execute("ANALYZE trust_riskcount")
        return time.perf_counter() - began

    out = {"fill_1k_s": fill(1, 1000)}
    out["1k"] = measure(1000)
    out["fill_1m_s"] = fill(1001, MANY)
    out["1m"] = measure(MANY)
    out["growth"] = out["1m"]["median_ms"] / out["1k"]["median_ms"]
    out["first_touch_growth"] = (
        out["1m"]["first_touch_median_ms"] / out["1k"]["first_touch_median_ms"]
    )
    out["fill_history_s"] = fill_risk(HISTORY)
    out["risk"] = {"history_rows": HISTORY, "devices": MANY, **measure_risk()}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
