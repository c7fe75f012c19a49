"""django-otp's own test suite, as released, with and without Trustgate.

``make compat`` runs this in its own venv (Trustgate, and freezegun, which
django-otp's tests import). It downloads the sdist of the django-otp version
installed (its tests are not in the wheel), runs its suite as django-otp's
own CI does (``python -m django test django_otp``, ``PYTHONPATH=src:test``,
``test_project.settings``), then again with ``trustgate_otp_settings``: the
same project with Trustgate installed as the quickstart says. It fails as
``harness.py`` says.

SQLite by default; ``DJANGO_OTP_CONFIG=path.toml`` (django-otp's own
``[database]`` table) runs both on PostgreSQL, which also runs the four
row-lock tests SQLite skips.
"""

from __future__ import annotations

import os
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

from harness import HERE, Outcome, report, run, sdist, unittest_outcome

# The user has a confirmed device and signed in with a password alone, on a
# browser the site does not recognize: the session owes its code, and every
# page but the code page answers with a redirect to it (docs/how-it-works.md).
OWES_A_CODE = "signed in with a password alone on a new browser: the session owes its code"
DOCUMENTED = {
    **{
        f"django_otp.plugins.otp_{kind}.tests.{kind.upper()}AdminTest.{test}": OWES_A_CODE
        for kind in ("hotp", "totp")
        for test in (
            "test_unauthorized",
            "test_view_perm",
            "test_change_perm",
            "test_config_page_has_no_inline_style_or_script",
        )
    },
    # Posts its OTP fields to Django's plain LoginView, which ignores them.
    "django_otp.tests.LoginViewTestCase.test_authenticate": OWES_A_CODE,
    # django-otp's two-step LoginView (OTP_LOGIN_URL) from a session that owes
    # its code: reachable once listed in TRUST_EXEMPT_URLS, then it passes
    # (docs/guides/contrib-auth.md).
    "django_otp.tests.LoginViewTestCase.test_verify": (
        "django-otp's LoginView is not in TRUST_EXEMPT_URLS: the gate sends the session "
        "that owes a code to Trustgate's code page"
    ),
}


def run_suite(tree: Path, settings: str, extra_path: list[Path]) -> Outcome:
    """django-otp's suite under ``settings``."""
    python_path = [tree / "src", tree / "test", *extra_path]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(map(str, python_path)),
        "DJANGO_SETTINGS_MODULE": settings,
    }
    command = [sys.executable, "-s", "-m", "django", "test", "django_otp", "--noinput", "-v", "2"]
    return run(settings, command, tree, env, unittest_outcome)


def main() -> int:
    release = version("django-otp")
    with tempfile.TemporaryDirectory(prefix="trustgate-compat-") as tmp:
        tree = sdist("django-otp", release, Path(tmp))
        alone = run_suite(tree, "test_project.settings", [])
        trusted = run_suite(tree, "trustgate_otp_settings", [HERE])
    return report(f"django-otp {release}'s own suite", alone, trusted, DOCUMENTED)


if __name__ == "__main__":
    sys.exit(main())
