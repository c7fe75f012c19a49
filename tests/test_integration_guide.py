"""The README's "Add it to your site" section, followed to the letter.

A bare ``django-admin startproject`` gets the section's Python blocks pasted
in as they are (settings, then URLs), Django's own auth URLs and a login
template (which the section says a site must have), a migrated SQLite
database, and then the familiar-browser, new-device and revoke stories, and
the admin's sudo mode, run through it with Django's test client. When the
README changes, this follows.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import REPO, manage, site_env

SECTION = "## Add it to your site"
LOGIN_TEMPLATE = """<form method="post">{% csrf_token %}{{ form }}
<button type="submit">Sign in</button></form>
"""

pytestmark = [pytest.mark.timeout(180), pytest.mark.own_site]


ALLAUTH = "### With django-allauth"


def guide_blocks(subsection: str | None = None) -> tuple[str, str]:
    """The ```python blocks (settings, urls) of the section, before its first
    subsection, or of ``subsection``."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index(subsection or SECTION)
    end = readme.find("\n##", start + len(subsection or SECTION))
    section = readme[start : end if end != -1 else None]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    urls = [block for block in blocks if "urlpatterns" in block]
    settings = [block for block in blocks if "urlpatterns" not in block]
    assert len(urls) == 1 and len(settings) == 1, "expected one settings and one URLs block"
    return settings[0], urls[0]


def test_guide_blocks_are_python():
    for block in (*guide_blocks(), *guide_blocks(ALLAUTH)):
        compile(block, "README.md", "exec")


def build_site(tmp_path: Path, extra_settings: str, extra_urls: str) -> dict[str, str]:
    """A bare ``startproject`` with the guide's blocks pasted in; its environment."""
    settings_block, urls_block = guide_blocks()
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "site_under_test", str(tmp_path)],
        check=True,
        timeout=60,
    )
    package = tmp_path / "site_under_test"
    settings = package / "settings.py"
    settings.write_text(
        settings.read_text() + "\n# --- from the README ---\n" + settings_block + extra_settings
    )
    urls = package / "urls.py"
    urls.write_text(urls.read_text() + "\n# --- from the README ---\n" + urls_block + extra_urls)
    env = site_env(DJANGO_SETTINGS_MODULE="site_under_test.settings", PYTHONPATH=str(tmp_path))
    checked = manage(env, "check", cwd=tmp_path)
    assert "no issues" in checked, checked
    manage(env, "migrate", "--noinput", cwd=tmp_path)
    return env


def run_stories(tmp_path: Path, env: dict[str, str], script: str) -> str:
    stories = subprocess.run(
        [sys.executable, str(Path(__file__).with_name(script))],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert stories.returncode == 0, stories.stdout + stories.stderr
    return stories.stdout


def test_a_bare_project_following_the_guide_works(tmp_path):
    login = tmp_path / "templates" / "registration" / "login.html"
    login.parent.mkdir(parents=True)
    login.write_text(LOGIN_TEMPLATE)
    env = build_site(
        tmp_path,
        "",
        "\n# --- the site's own sign-in and sign-out (Django's views) ---\n"
        'urlpatterns += [path("accounts/", include("django.contrib.auth.urls"))]\n',
    )
    out = run_stories(tmp_path, env, "guide_stories.py")
    assert out.count("\n") == 4, out


def test_a_bare_project_with_allauth_following_the_guide_works(tmp_path):
    pytest.importorskip("allauth")
    settings_block, urls_block = guide_blocks(ALLAUTH)
    env = build_site(
        tmp_path,
        "\n# --- from the README, with django-allauth ---\n" + settings_block,
        "\n# --- from the README, with django-allauth ---\n" + urls_block,
    )
    out = run_stories(tmp_path, env, "guide_stories_allauth.py")
    assert out.count("\n") == 2, out
