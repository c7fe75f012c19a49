"""django-otp-webauthn's own test suite, as released, with and without Trustgate.

``make compat`` runs this in its own venv (Trustgate with its passkeys extra,
and the pytest plugins and libraries these tests import). It downloads the
sdist of the django-otp-webauthn version installed, runs its pytest suite
as its own CI does (``pytest`` in the unpacked tree: its pyproject.toml
names the sandbox's settings; the browser tests in tests/e2e stay out, as
there), then again with ``trustgate_webauthn_settings``. It fails as
``harness.py`` says.
"""

from __future__ import annotations

import os
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

from harness import HERE, Outcome, pytest_outcome, report, run, sdist

# The user has a confirmed passkey and was signed in with force_login (a
# password alone), on a browser the site does not recognize: the session owes
# its code, and django-otp-webauthn's own endpoints, which the sandbox mounts
# at /webauthn/, are gated like any page. docs/guides/passkeys.md says not
# to mount them, nor exempt them: otp_flow.urls serves every step behind the
# gate (a passkey there counts as the code). They pass with
# TRUST_EXEMPT_URLS = ["/webauthn/"].
OWES_A_CODE = (
    "signed in with a password alone on a new browser: the session owes its code, "
    "and django-otp-webauthn's own URLs are gated (docs/guides/passkeys.md)"
)
# Each sets a relying party ID or origins that do not match the sandbox's
# other setting, expecting `check` to pass or to fail on django-otp-webauthn's
# own message: Trustgate's otp_flow.E022 (an allowed origin not on the RP ID)
# stops it first.
ORIGIN_NOT_ON_RP_ID = "otp_flow.E022: an allowed origin is not on OTP_WEBAUTHN_RP_ID"
INTEGRATION = "tests/integration"
DOCUMENTED = {
    **{
        f"{INTEGRATION}/test_views_authentication.py::{test}": OWES_A_CODE
        for test in (
            "test_authentication_begin__logged_in_user",
            "test_authentication_complete__verify_existing_user",
            "test_authentication_complete_get_success_url__understands_next_url_parameter",
        )
    },
    f"{INTEGRATION}/test_views_registration.py::"
    "test_registration_begin__user_mfa_enrolled_but_not_verified": OWES_A_CODE,
    **{
        f"tests/unit/test_checks.py::{test}": ORIGIN_NOT_ON_RP_ID
        for test in (
            "test_check_settings_relying_party_id__static_value_set",
            "test_check_settings_allowed_origins_set",
            "test_check_settings_allowed_origins_misconfigured",
        )
    },
}


def run_suite(tree: Path, settings: str) -> Outcome:
    """The suite under ``settings`` (the sandbox's own is ``settings``)."""
    # The sandbox reads DATABASE_URL (SQLite without it): not the caller's.
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env["PYTHONPATH"] = str(HERE)
    command = [sys.executable, "-s", "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider"]
    return run(settings, [*command, "--ds", settings], tree, env, pytest_outcome)


def main() -> int:
    release = version("django-otp-webauthn")
    with tempfile.TemporaryDirectory(prefix="trustgate-compat-") as tmp:
        tree = sdist("django-otp-webauthn", release, Path(tmp))
        alone = run_suite(tree, "settings")
        trusted = run_suite(tree, "trustgate_webauthn_settings")
    return report(f"django-otp-webauthn {release}'s own suite", alone, trusted, DOCUMENTED)


if __name__ == "__main__":
    sys.exit(main())
