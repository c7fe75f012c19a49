"""``python -m bench`` (``make bench``): run every measurement, print the
table, write ``bench-results/latest.json`` and ``latest.md``.

``python -m bench --readme`` also puts the table in the documentation's
"What it costs" page (docs/performance.md), between the ``bench:start`` and
``bench:end`` markers."""

from __future__ import annotations

import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.processes import PG_BASE, TEST_PREFIX

REPO = Path(__file__).resolve().parent.parent
RESULTS = Path(os.environ.get("BENCH_RESULTS") or REPO / "bench-results")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "31"))
PER_ROUND = int(os.environ.get("BENCH_PER_ROUND", "60"))


def machine() -> dict:
    import django

    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    try:
        import ua_parser_rs  # noqa: F401

        accelerator = "ua-parser-rs"
    except ImportError:
        accelerator = "none (pure-Python regexes)"
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": model or platform.processor(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "ua_parser_accelerator": accelerator,
    }


def decision() -> dict:
    """The 1 k / 1 M rows measurement, in a throwaway PostgreSQL database."""
    try:
        import psycopg

        admin = psycopg.connect(f"{PG_BASE}/postgres", autocommit=True, connect_timeout=3)
    except Exception as error:  # any reason to skip is printed
        return {"skipped": f"PostgreSQL unreachable at {PG_BASE}: {error}"}
    name = f"{TEST_PREFIX}_bench_{os.getpid()}_{secrets.token_hex(4)}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL"}}
            env.update(DATABASE_URL=f"{PG_BASE}/{name}", DJANGO_DEBUG="0")
            env["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(48)
            done = subprocess.run(
                [sys.executable, "-m", "bench.decision"],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            if done.returncode != 0:
                return {"failed": done.stderr[-2000:]}
            result = json.loads(done.stdout)
            result["postgresql"] = admin.info.server_version
            return result
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def update_readme(table: str) -> None:
    readme = REPO / "docs" / "performance.md"
    text = readme.read_text(encoding="utf-8")
    start, end = "<!-- bench:start -->\n", "<!-- bench:end -->"
    head, rest = text.split(start, 1)
    _old, tail = rest.split(end, 1)
    readme.write_text(head + start + table + end + tail, encoding="utf-8")


def main() -> None:
    workdir = tempfile.mkdtemp(prefix="trustgate-bench-")
    os.environ.pop("REDIS_URL", None)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="project.settings",
        DATABASE_URL=f"sqlite:///{workdir}/bench.sqlite3",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(48),
    )
    import django

    django.setup()
    from django.db import connection

    # One connection for the whole run, as a pooled deployment keeps it:
    # reconnecting per request would pad both sides of every ratio.
    connection.settings_dict["CONN_MAX_AGE"] = None
    # The same for the thread the ASGI stacks hand database work to.
    from django.conf import settings

    settings.DATABASES["default"]["CONN_MAX_AGE"] = None

    from bench import fingerprints, report, stack

    print("measuring request cost...", file=sys.stderr)
    results = {"machine": machine(), "rounds": ROUNDS}
    results.update(stack.run(rounds=ROUNDS, per_round=PER_ROUND))
    print("measuring fingerprints...", file=sys.stderr)
    results["fingerprint"] = fingerprints.run()
    print("measuring the sign-in decision at 1 k and 1 M devices...", file=sys.stderr)
    results["decision"] = decision()

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    table = report.markdown(results)
    (RESULTS / "latest.md").write_text(table)
    print(table)
    if "--readme" in sys.argv[1:]:
        update_readme(table)
    print(f"written: {RESULTS / 'latest.json'}", file=sys.stderr)


if __name__ == "__main__":
    main()
