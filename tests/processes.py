"""Child processes of the suite: ``manage.py`` and the environment a site gets.

Shared by the tests that build a site of their own (the integration guide,
the allauth site, the demo's settings) and by ``e2e/``'s real servers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent


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
