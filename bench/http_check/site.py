"""The demo site as the check meets it: gunicorn on a PostgreSQL database of
its own (created, migrated, dropped), Redis when it answers, behind one
proxy at 127.0.0.1 (``TRUST_PROXY_COUNT=1``, ``TRUST_PROXY_NETWORKS``), its
e-mail written to files the check reads as a user reads their inbox.

The servers are e2e/servers.py's (started on a free port, waited for, stopped
by their process group).
"""

from __future__ import annotations

import contextlib
import email
import os
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from pathlib import Path

from e2e.servers import (
    PG_BASE,
    REDIS_URL,
    TEST_HOST,
    TEST_PREFIX,
    free_port,
    gunicorn,
    manage,
    postgres_database,
    serving,
    site_env,
)

WORKERS = 2


def database(run_id: str) -> contextlib.AbstractContextManager[str]:
    """A PostgreSQL database for this run, dropped at the end."""
    return postgres_database(PG_BASE, f"{TEST_PREFIX}_http_check_{run_id}")


def _redis_answers() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception:  # any reason: the site runs on its local-memory cache
        return False
    return True


@contextmanager
def demo_site(workdir: Path) -> Iterator[tuple[str, Path]]:
    """The demo under gunicorn; yields its base URL and its mail directory."""
    run_id = f"{int(time.time())}{os.getpid()}"
    mail = workdir / "mail"
    mail.mkdir(parents=True, exist_ok=True)
    with database(run_id) as url:
        env = site_env(
            DATABASE_URL=url,
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY=secrets.token_urlsafe(48),
            DJANGO_ALLOWED_HOSTS=f"{TEST_HOST},localhost",
            DJANGO_EMAIL_FILE_PATH=str(mail),
            # The demo behind one reverse proxy on this host: the client's
            # address is the X-Forwarded-For hop that proxy appended.
            TRUST_PROXY_COUNT="1",
            TRUST_PROXY_NETWORKS=f"{TEST_HOST}/32",
        )
        if _redis_answers():
            env.update(REDIS_URL=REDIS_URL, CACHE_KEY_PREFIX=f"{TEST_PREFIX}-http-check-{run_id}")
        manage(env, "migrate", "--noinput")
        port = free_port()
        with serving(gunicorn(port, WORKERS), env, port, workdir / "gunicorn.log") as base:
            yield base, mail


# django-otp's OTP_EMAIL_TOKEN_VALIDITY (300 s), less a margin.
VALIDITY = 280
SEPARATOR = "-" * 79  # Django's file backend writes one after each message


class Mailbox:
    """The sign-in codes the site e-mailed, per recipient, read from the
    file backend's files (the way a user reads their inbox)."""

    CODE = re.compile(r"^\s*(\d{6})\s*$", re.M)

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._read: dict[Path, int] = {}  # characters parsed, per file
        self._sizes: dict[Path, int] = {}  # bytes when last read
        self._codes: dict[str, list[tuple[float, str]]] = {}
        self._lock = threading.Lock()

    def _scan(self) -> None:
        for path in sorted(self.directory.glob("*.log")):
            size = path.stat().st_size
            if self._sizes.get(path) == size:
                continue  # nothing new in it
            self._sizes[path] = size
            text = path.read_text(errors="replace")
            done = self._read.get(path, 0)
            complete = text[: text.rfind(SEPARATOR) + len(SEPARATOR)] if SEPARATOR in text else ""
            for chunk in complete[done:].split(SEPARATOR):
                if chunk.strip():
                    self._add(email.message_from_string(chunk.strip()))
            self._read[path] = max(done, len(complete))

    def _add(self, message: Message) -> None:
        body = message.get_payload(decode=False)
        if message.is_multipart():
            body = message.get_payload(0).get_payload(decode=False)
        code = self.CODE.search(str(body))
        if code is None or "code" not in str(message.get("Subject", "")).lower():
            return  # an alert, not a sign-in code
        self._codes.setdefault(str(message["To"]).strip().lower(), []).append(
            (time.time(), code.group(1))
        )

    def code_for(self, address: str, since: int, wait: float = 2.0) -> str | None:
        """The code to type: the newest sent to ``address`` beyond the first
        ``since`` ones; when none came within ``wait`` seconds, the newest
        still valid (within django-otp's cooldown the site sends none and
        the code sent before, e.g. for an attacker's attempt, stays the one
        to enter); None when there is none."""
        deadline = time.monotonic() + wait
        while True:
            with self._lock:
                self._scan()
                codes = self._codes.get(address.lower(), [])
                if len(codes) > since:
                    return codes[-1][1]
            if time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        if codes and time.time() - codes[-1][0] < VALIDITY:
            return codes[-1][1]
        return None

    def count(self, address: str) -> int:
        with self._lock:
            self._scan()
            return len(self._codes.get(address.lower(), []))
