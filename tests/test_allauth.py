"""django-allauth's account app in front of Trustgate, in a pytest of its own.

``tests/allauth_site/stories.py`` runs with ``tests.allauth_site.settings``
(allauth's apps, middleware, backend and URLs), which cannot be switched on
inside this process: a child pytest runs it, on this run's database server.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
STORIES = "tests/allauth_site/stories.py"

pytestmark = pytest.mark.timeout(180)


def test_allauth_stories():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.allauth_site.settings"}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            STORIES,
            "-q",
            "-p",
            "no:randomly",
            "--ds",
            env["DJANGO_SETTINGS_MODULE"],
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-3000:]
    assert re.search(r"\b6 passed\b", run.stdout), run.stdout[-2000:]
