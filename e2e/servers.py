"""Real server processes for the end-to-end legs: started on a free port
(``TRUSTGATE_TEST_HOST``, ``TRUSTGATE_TEST_PORTS``: tests/processes.py),
waited for, and always stopped."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from tests.processes import (  # noqa: F401
    BIN,
    PG_BASE,
    PYTHON,
    REDIS_URL,
    REPO,
    TEST_HOST,
    TEST_PREFIX,
    free_port,
    manage,
    site_env,
)

# Debian's Chromium, driven by Playwright (never Playwright's own browsers),
# with what a headless run in a container needs and nothing that phones home.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def postgres_database(base: str, name: str) -> Iterator[str]:
    """A PostgreSQL database of its own for one run (its URL), dropped at the end."""
    import psycopg

    with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wait_until_up(
    url: str,
    process: subprocess.Popen,
    log: Path,
    timeout: float = 60,
    context: ssl.SSLContext | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2, context=context):
                return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            time.sleep(0.1)  # not listening yet: poll again
    raise RuntimeError(f"server not up after {timeout} s:\n{log.read_text()}")


@contextmanager
def serving(
    command: Sequence[str],
    env: dict[str, str],
    port: int,
    log: Path,
    cwd: Path = REPO,
    *,
    https: bool = False,
) -> Iterator[str]:
    """Run ``command`` until the block ends; yields its base URL.

    ``https``: the server speaks HTTPS (with a self-signed certificate:
    the wait for it only asks whether it answers, unverified).
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {"DJANGO_ALLOWED_HOSTS": f"{TEST_HOST},localhost", **env}
    with log.open("w") as out:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    scheme = "https" if https else "http"
    base = f"{scheme}://{TEST_HOST}:{port}"
    context = None
    if https:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        wait_until_up(f"{base}/accounts/login/", process, log, context=context)
        yield base
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    """Stop the server and everything it started (its process group), by id."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def runserver(port: int) -> list[str]:
    return [PYTHON, "manage.py", "runserver", "--noreload", f"{TEST_HOST}:{port}"]


def gunicorn(port: int, workers: int = 2) -> list[str]:
    return [
        str(BIN / "gunicorn"),
        "project.wsgi:application",
        "--bind",
        f"{TEST_HOST}:{port}",
        "--workers",
        str(workers),
        "--timeout",
        "60",
        "--graceful-timeout",
        "5",
    ]
