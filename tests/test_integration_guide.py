"""The quickstart (docs/quickstart.md), and the allauth and DRF guides, followed to the letter.

A bare ``django-admin startproject mysite`` gets the page's blocks pasted in
as they are: each block's caption names its file (Python files get the
block appended, templates are written), and nothing else is added. Then a
migrated SQLite database, ``manage.py check`` (which must say "no issues"),
and the stories run through the site with Django's test client. The blocks
are read from the pages themselves: when a page changes, this follows.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.processes import REPO, manage, site_env

QUICKSTART = REPO / "docs" / "quickstart.md"
ALLAUTH = REPO / "docs" / "guides" / "allauth.md"
DRF = REPO / "docs" / "guides" / "drf.md"
PROJECT = "mysite"  # the quickstart's startproject name

# What issue 23 holds Trustgate to on a contrib.auth site (django-two-factor-auth
# takes 10 lines, allauth's mfa 6).
MAX_CORE_SETTINGS_LINES = 10

pytestmark = [pytest.mark.timeout(180), pytest.mark.own_site]

BLOCK = re.compile(r"^```\{code-block\} (\S+)\n:caption: ([^\n]+)\n\n(.*?)^```$", re.S | re.M)


@dataclass(frozen=True)
class Block:
    caption: str  # "path" or "path: what it is for"
    code: str

    @property
    def path(self) -> str:
        return self.caption.split(":")[0].strip()


def page_blocks(page: Path) -> list[Block]:
    """The page's captioned code blocks, in order."""
    return [
        Block(caption, code)
        for _lang, caption, code in BLOCK.findall(page.read_text(encoding="utf-8"))
    ]


def followed(*pages: Path) -> list[Block]:
    """The quickstart's blocks, then each guide's: a guide's block with the
    caption of an earlier one replaces it, any other is added."""
    blocks: dict[str, Block] = {}
    for page in pages:
        for block in page_blocks(page):
            blocks[block.caption] = block
    return list(blocks.values())


def core_settings_lines() -> list[str]:
    """The quickstart's lines of settings, as issue 23 counts them: code, not
    comments or blank lines."""
    return [
        line
        for block in page_blocks(QUICKSTART)
        if block.path.endswith("settings.py")
        for line in block.code.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def test_the_quickstart_has_every_block_a_site_needs():
    paths = [block.path for block in page_blocks(QUICKSTART)]
    assert paths == [
        "mysite/settings.py",
        "mysite/urls.py",
        "mysite/urls.py",
        "templates/registration/login.html",
        "templates/home.html",
    ]


def test_core_set_up_takes_at_most_ten_lines_of_settings():
    lines = core_settings_lines()
    assert 0 < len(lines) <= MAX_CORE_SETTINGS_LINES, lines


def test_guide_blocks_are_python():
    for page in (QUICKSTART, ALLAUTH, DRF):
        for block in page_blocks(page):
            if block.path.endswith(".py"):
                compile(block.code, str(page.relative_to(REPO)), "exec")


# The site's own views that sign a user in with a plain login(request, user):
# a sign-up, and Django's reset that signs in (post_reset_login).
SIGN_UP_AND_RESET = Block(
    f"{PROJECT}/urls.py: the site's own sign-up, and a reset that signs in",
    """from django.contrib.auth import get_user_model, login, views as auth_views
from django.shortcuts import redirect


def sign_up(request):
    data = request.POST
    user = get_user_model().objects.create_user(data["username"], password=data["password"])
    login(request, user)
    return redirect("/")


urlpatterns += [
    path("signup/", sign_up),
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(post_reset_login=True, success_url="/"),
    ),
]
""",
)


def build_site(tmp_path: Path, blocks: list[Block]) -> dict[str, str]:
    """A bare ``startproject`` with ``blocks`` pasted in; its environment."""
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", PROJECT, str(tmp_path)],
        check=True,
        timeout=60,
    )
    for block in blocks:
        target = tmp_path / block.path
        target.parent.mkdir(parents=True, exist_ok=True)
        if block.path.endswith(".py") and target.exists():
            pasted = f"\n# --- from the docs: {block.caption} ---\n{block.code}"
            target.write_text(target.read_text() + pasted)
        else:
            target.write_text(block.code)
    return site_env(DJANGO_SETTINGS_MODULE=f"{PROJECT}.settings", PYTHONPATH=str(tmp_path))


def migrated(tmp_path: Path, env: dict[str, str]) -> None:
    checked = manage(env, "check", cwd=tmp_path)
    assert "no issues" in checked, checked
    manage(env, "migrate", "--noinput", cwd=tmp_path)


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


def test_a_bare_project_following_the_quickstart_works(tmp_path):
    env = build_site(tmp_path, [*followed(QUICKSTART), SIGN_UP_AND_RESET])
    migrated(tmp_path, env)
    out = run_stories(tmp_path, env, "guide_stories.py")
    assert out.count("\n") == 7, out


def test_a_bare_project_with_allauth_following_the_guide_works(tmp_path):
    pytest.importorskip("allauth")
    env = build_site(tmp_path, followed(QUICKSTART, ALLAUTH))
    migrated(tmp_path, env)
    out = run_stories(tmp_path, env, "guide_stories_allauth.py")
    assert out.count("\n") == 3, out


def test_a_bare_project_with_drf_following_the_guide_works(tmp_path):
    pytest.importorskip("rest_framework")
    env = build_site(tmp_path, followed(QUICKSTART, DRF))
    migrated(tmp_path, env)
    out = run_stories(tmp_path, env, "guide_stories_drf.py")
    assert out.count("\n") == 3, out


def test_drf_guide_without_drfs_token_app_fails_check_naming_it(tmp_path):
    """Leaving rest_framework.authtoken out made POST /api/token/ a 500
    ('Token' has no attribute 'objects') while check said "no issues"."""
    pytest.importorskip("rest_framework")
    blocks = [
        Block(b.caption, b.code.replace(', "rest_framework.authtoken"', ""))
        for b in followed(QUICKSTART, DRF)
    ]
    assert not any('"rest_framework.authtoken"' in b.code for b in blocks)
    env = build_site(tmp_path, blocks)
    with pytest.raises(RuntimeError) as failed:
        manage(env, "check", cwd=tmp_path)
    assert "trust.E021" in str(failed.value)
    assert "rest_framework.authtoken" in str(failed.value)
