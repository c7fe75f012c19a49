"""Child processes of the suite: ``manage.py`` and the environment a site gets.

Shared by the tests that build a site of their own (the integration guide,
the allauth site, the demo's settings) and by ``e2e/``'s real servers.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent

# What a run shares with other checkouts on one host comes from the
# environment (the Makefile passes it on), so two CI jobs never collide:
# - TRUSTGATE_TEST_PREFIX starts the names of the databases a test makes and
#   of its Redis keys;
# - TRUSTGATE_TEST_HOST is the address test servers listen on;
# - TRUSTGATE_TEST_PORTS ("20000-20999") the ports they take; without it,
#   any free port the system gives.
TEST_PREFIX = os.environ.get("TRUSTGATE_TEST_PREFIX") or "trustgate"
TEST_HOST = os.environ.get("TRUSTGATE_TEST_HOST") or "127.0.0.1"
# The PostgreSQL server the real-process legs and the bench make their own
# databases on, and the Redis they share (the Makefile's PG_BASE, REDIS_URL_TEST).
PG_BASE = os.environ.get("PG_BASE", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("REDIS_URL_TEST", "redis://127.0.0.1:6379/0")


def _port_range() -> range | None:
    spec = os.environ.get("TRUSTGATE_TEST_PORTS", "").strip()
    if not spec:
        return None
    low, _, high = spec.partition("-")
    return range(int(low), int(high or low) + 1)


def free_port(host: str = TEST_HOST) -> int:
    """A port nothing listens on now: from TRUSTGATE_TEST_PORTS, or the system's."""
    ports = _port_range()
    candidates = random.sample(ports, len(ports)) if ports else [0]
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue  # taken: try the next one
            return sock.getsockname()[1]
    raise RuntimeError(f"no free port in TRUSTGATE_TEST_PORTS={os.environ['TRUSTGATE_TEST_PORTS']}")


def manage(env: dict[str, str], *args: str, cwd: Path = REPO, timeout: float = 300) -> str:
    """``manage.py`` in a child process; its output on failure."""
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def site_env(**overrides: str) -> dict[str, str]:
    """The environment a server process gets: this one, minus what would
    point it at another database, plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env.pop("CACHE_KEY_PREFIX", None)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


def child_pytest(stories: str, settings_module: str, *, timeout: float = 170) -> str:
    """``stories`` (a test file) in a pytest of its own, with a settings module
    this process cannot switch to (other apps installed), on this run's
    database server; its output, once it passed."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module}
    run = subprocess.run(
        [PYTHON, "-m", "pytest", stories, "-q", "-p", "no:randomly", "--ds", settings_module],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-3000:]
    return run.stdout
