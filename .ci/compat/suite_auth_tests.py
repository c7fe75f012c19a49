"""Django's own ``auth_tests``, as released, with and without Trustgate.

``make compat`` runs this in its own venv. It downloads the sdist of the
Django version installed, runs ``tests/runtests.py auth_tests`` as Django's
CI does (its ``test_sqlite`` settings), then again through
``trustgate_runtests.py``: Trustgate's apps, middleware and backend as the
quickstart installs them. It fails as ``harness.py`` says.
"""

from __future__ import annotations

import os
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

from harness import HERE, Outcome, report, run, sdist, unittest_outcome

# Each test counts the password hashes of a sign-in with a username no
# account has: one, as for a wrong password. It appends Django's ModelBackend
# to AUTHENTICATION_BACKENDS, after Trustgate's (Django's, behind the
# throttle): two backends, each hashing for the unknown user, count two.
TWO_BACKENDS = (
    "the test adds Django's ModelBackend after Trustgate's: each hashes the password "
    "for a username no account has, so two hashes where it counts one"
)
DOCUMENTED = {
    **{
        f"auth_tests.test_auth_backends.{case}.{test}": TWO_BACKENDS
        for case in (
            "ModelBackendTest",
            "ExtensionUserModelBackendTest",
            "CustomPermissionsUserModelBackendTest",
        )
        for test in ("test_authentication_timing", "test_aauthentication_timing")
    },
    # Django's check: a non-unique USERNAME_FIELD is an error (auth.E003)
    # only while AUTHENTICATION_BACKENDS is exactly Django's default, else a
    # warning (auth.W004) for the backends to handle.
    **{
        f"auth_tests.test_checks.UserModelChecksTests.{test}": (
            "AUTHENTICATION_BACKENDS is not Django's default: auth.W004 in place of auth.E003"
        )
        for test in ("test_username_non_unique", "test_username_partially_unique")
    },
    # A site sets AUTH_USER_MODEL before its first migration; the test
    # overrides it while the tables stand, and the gate's device look-up
    # (django-otp's user_has_device) is refused a UUIDUser for auth.User.
    "auth_tests.test_views.UUIDUserTests.test_admin_password_change": (
        "the test swaps AUTH_USER_MODEL at run time: django-otp's device tables "
        "still point at auth.User"
    ),
}


def run_suite(tree: Path, with_trustgate: bool) -> Outcome:
    """auth_tests, through runtests.py alone or wrapped."""
    runtests = tree / "tests" / "runtests.py"
    wrapper = [str(HERE / "trustgate_runtests.py")] if with_trustgate else []
    command = [sys.executable, "-s", *wrapper, str(runtests), "auth_tests", "--noinput", "-v", "2"]
    # runtests.py's --settings default, test_sqlite, unless the environment names one.
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    label = "auth_tests with Trustgate" if with_trustgate else "auth_tests"
    return run(label, command, tree / "tests", env, unittest_outcome)


def main() -> int:
    release = version("Django")
    with tempfile.TemporaryDirectory(prefix="trustgate-compat-") as tmp:
        tree = sdist("Django", release, Path(tmp))
        alone = run_suite(tree, with_trustgate=False)
        trusted = run_suite(tree, with_trustgate=True)
    return report(f"Django {release}'s auth_tests", alone, trusted, DOCUMENTED)


if __name__ == "__main__":
    sys.exit(main())
