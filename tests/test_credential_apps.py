"""The admin pages of django-rest-knox, simplejwt's token blacklist and allauth's
account, MFA and social apps need a fresh code, in a pytest of its own.

``tests/credential_apps_site/stories.py`` runs with
``tests.credential_apps_site.settings``, which cannot be switched on inside
this process: a child pytest runs it, on this run's database server.
"""

from __future__ import annotations

import re

import pytest

from tests.processes import child_pytest

pytestmark = pytest.mark.timeout(180)


def test_credential_apps_stories():
    out = child_pytest(
        "tests/credential_apps_site/stories.py", "tests.credential_apps_site.settings"
    )
    assert re.search(r"\b3 passed\b", out), out[-2000:]
