"""``make bench`` runs end to end (one short round, a small table). Nothing
here asserts a timing: the figures of a smoke run mean nothing."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from e2e.servers import REPO, site_env

pytestmark = pytest.mark.timeout(300)


def test_bench_runs_and_reports_every_measurement(tmp_path):
    env = site_env(
        BENCH_ROUNDS="2",
        BENCH_PER_ROUND="3",
        BENCH_DECISION_ROWS="5000",
        BENCH_DECISION_SAMPLES="50",
        BENCH_DECISION_HISTORY="20000",
        BENCH_DECISION_POSTS="3",
        BENCH_RESULTS=str(tmp_path),
    )
    done = subprocess.run(
        [sys.executable, "-m", "bench"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((tmp_path / "latest.json").read_text())
    assert set(results["scenarios"]) == {
        "trusted session",
        "session that entered a code",
        "session mid-step-up",
        "anonymous",
    }
    # Query counts are exact, unlike timings: the claim "as many as Django".
    for name in ("trusted session", "session that entered a code"):
        row = results["scenarios"][name]
        assert row["trustgate"]["queries"] == row["django"]["queries"], name
    # django-otp's own middleware loads the device a code verified, every time.
    coded = results["scenarios"]["session that entered a code"]
    assert coded["django-otp"]["queries"] == coded["django"]["queries"] + 1
    assert results["scenarios"]["session mid-step-up"]["trustgate"]["status"] == "302"
    # The ASGI leg answered every session as the WSGI one did.
    assert set(results["asgi"]) == {"trusted session", "session that entered a code", "anonymous"}
    for row in results["asgi"].values():
        assert row["django"]["status"] == row["trustgate"]["status"] == "200"
    # Every measurement is a positive number, and the table shows each row.
    for table in (results["scenarios"], results["asgi"]):
        for row in table.values():
            assert all(cell["us"] > 0 for cell in row.values()), row
    for scenario in results["scenarios"]:
        assert re.search(rf"^\| {re.escape(scenario)} \| \d+ \(\dq\) \|", done.stdout, re.M)
    decision = results["decision"]
    if "skipped" not in decision:
        for size in ("1k", "1m"):
            assert decision[size]["first_touch_median_ms"] > 0, decision
        # The whole decision under both bindings, the prepared one as a site opts in.
        whole = decision["whole"]
        assert whole["prepared"]["options"] == {"server_side_binding": True, "prepare_threshold": 5}
        for row in (whole, whole["prepared"]):
            # The device look-up; the risk read (one union).
            assert row["median_ms"] > 0 and len(row["queries"]) == 2, row
        assert re.search(
            r"^\| `server_side_binding`, `prepare_threshold` 5 \| [\d.]+ ms", done.stdout, re.M
        )
        # Against whole sign-in requests with Django's default password hasher.
        assert decision["sign_in_post"]["hasher"] == "pbkdf2_sha256"
        assert 0 < decision["decision_share"] < 1
        share = r"^\*\*The decision's share of the sign-in\*\*: [\d.]+%"
        assert re.search(share, done.stdout, re.M)
    fingerprint = results["fingerprint"]
    if "skipped" not in fingerprint:
        assert fingerprint["cold_us"] > 0 and fingerprint["agents"] > 1000, fingerprint


def test_the_http_check_runs_and_prints_every_row(tmp_path):
    """``python -m bench.http_check --quick``: the demo under gunicorn on
    PostgreSQL, 8 users over HTTP; it completes and reports every row (the
    rates of 8 users assert nothing)."""
    from bench.http_check.run import rows

    output = tmp_path / "http_check.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench.http_check", "--quick", "--output", str(output)],
        cwd=REPO,
        env=site_env(),
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    assert output.read_text().strip() == done.stdout.strip()
    for row in rows().values():
        line = re.search(rf"^\| {re.escape(row.name)} \| {row.who} \| (\d+) \|", done.stdout, re.M)
        assert line, row.name
        assert int(line.group(1)) > 0, row.name
