"""django-allauth's account app in front of Trustgate, in a pytest of its own.

``tests/allauth_site/stories.py`` runs with ``tests.allauth_site.settings``
(allauth's apps, middleware, backend and URLs), which cannot be switched on
inside this process: a child pytest runs it, on this run's database server.
"""

from __future__ import annotations

import re

import pytest

from tests.processes import child_pytest

pytestmark = pytest.mark.timeout(180)


def test_allauth_stories():
    out = child_pytest("tests/allauth_site/stories.py", "tests.allauth_site.settings")
    assert re.search(r"\b6 passed\b", out), out[-2000:]
